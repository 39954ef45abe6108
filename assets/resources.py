"""The one resource every asset uses: its fields are derived from unibind_core's `Settings`.

Launchpad / `--config-json` shape: `{"resources": {"unibind": {"config": {"k": 20, "llm": {"model": ...}}}}}`
— top-level options, with nested `llm`, `caption` and `pretrain` blocks. The profile is not a resource
field: it is the code location's (assets/partitions.py), so partitions and stages always agree.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import create_model

from assets.config import config_fields, plain_values
from assets.partitions import PROFILE
from unibind_core.core.settings import Settings

DEFAULT_DATA_ROOT = Path(__file__).resolve().parents[1] / "data"

_Fields = create_model(
    "_UnibindFields",
    __base__=dg.ConfigurableResource,
    **config_fields(Settings, exclude={"profile"}, fallbacks={"data_root": lambda: str(DEFAULT_DATA_ROOT)}),
)


class UnibindResource(_Fields):
    """Where data lives and which backends run: switching to real backends changes these, not code."""

    def settings(self) -> Settings:
        """The frozen library settings (paths resolved, the API key wrapped in a Secret that never prints)."""
        values = plain_values(self)
        values["data_root"] = Path(values["data_root"]).resolve()
        return Settings.from_mapping({**values, "profile": PROFILE})
