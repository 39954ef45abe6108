"""A fresh local Dagster instance for tests that run the `dagster` and `unibind` commands as subprocesses."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def instance_env(tmp_path: Path) -> dict:
    """Environment of a subprocess using a fresh local Dagster instance (this repo's dagster.yaml) under
    `tmp_path` and a data root beside it; model loading stays offline."""
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copy(Path(__file__).resolve().parents[2] / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "UNIBIND_DATA_ROOT": str(tmp_path / "data"),
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
    }
