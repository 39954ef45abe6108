"""The one-way layering of docs/architecture.md: pipelines -> assets -> unibind_core, and no dagster in the library."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(folder: str) -> dict[str, set[str]]:
    found = {}
    for path in (ROOT / folder).rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_core_never_imports_dagster_or_upper_layers():
    offenders = {p: n & {"dagster", "assets", "pipelines"} for p, n in _imports("unibind_core").items()}
    assert not {p: n for p, n in offenders.items() if n}


def test_assets_never_import_pipelines():
    offenders = {p: n for p, n in _imports("assets").items() if "pipelines" in n}
    assert not offenders


def test_importing_the_whole_library_loads_no_dagster():
    code = (
        "import importlib, pkgutil, sys, unibind_core\n"
        "for m in pkgutil.walk_packages(unibind_core.__path__, 'unibind_core.'):\n"
        "    importlib.import_module(m.name)\n"
        "print('dagster' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"
