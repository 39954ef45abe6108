"""Stand-in external environments: real virtual environments (their own interpreter, `python -m venv`) whose
path holds the stand-in model packages (tests/core/encoders/external/standins) and the main environment's torch,
numpy and dagster_pipes. The shipped scripts run in them unchanged."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

STANDINS = Path(__file__).resolve().parents[1] / "core" / "encoders" / "external" / "standins"


def make_env(root: Path, name: str, with_standins: bool = True) -> Path:
    """`<root>/<name>`, a venv without pip; returns its interpreter."""
    target = root / name
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], check=True)
    python = target / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if with_standins:
        lines = [str(STANDINS), sysconfig.get_paths()["purelib"]]
        (Path(site) / "unibind_standins.pth").write_text("\n".join(lines) + "\n")
    return python


def make_envs(root: Path) -> Path:
    """A venv root with the three environments (imagebind, languagebind, lavis) on stand-ins."""
    for name in ("imagebind", "languagebind", "lavis"):
        make_env(root, name)
    return root
