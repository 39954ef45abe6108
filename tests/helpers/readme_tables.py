"""scripts/readme_results.py as a module (scripts/ is not a package): the README's result blocks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_PATH = Path(__file__).resolve().parents[2] / "scripts" / "readme_results.py"
_spec = importlib.util.spec_from_file_location("readme_results", _PATH)
readme_results = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(readme_results)
