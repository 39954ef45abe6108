"""Stored outputs carry the code that made them: every library module is on a code path (or declared output
neutral), a version ignores docstrings and comments but not code, the Dagster code versions are the same
numbers, and an edit to a copy of the package recomputes exactly the stage whose path it is on and what is
keyed on that stage's output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from unibind_core.core import code_versions as cv

ROOT = Path(__file__).resolve().parents[3]
PIPELINE = ROOT / "tests" / "helpers" / "code_edit_pipeline.py"


def _library_modules() -> list[str]:
    return sorted(
        ".".join(p.relative_to(cv.PACKAGE).with_suffix("").parts)
        for p in cv.PACKAGE.rglob("*.py")
        if "__pycache__" not in p.parts
    )


def _covered(module: str, names: set[str]) -> bool:
    parts = module.split(".")
    return any(".".join(parts[:i]) in names for i in range(1, len(parts) + 1))


def test_every_library_module_is_on_a_code_path_or_declared_output_neutral():
    on_paths = {m for p in cv.CODE_PATHS for m in cv.path_modules(p)}
    missing = [m for m in _library_modules() if not _covered(m, on_paths | set(cv.OUTPUT_NEUTRAL))]
    assert not missing, f"assign these modules to a code path in core/code_versions.py or to OUTPUT_NEUTRAL: {missing}"
    for name in on_paths | set(cv.OUTPUT_NEUTRAL):  # every name resolves to a file or package
        assert cv.module_files(name)
    assert not set(cv.OUTPUT_NEUTRAL) & on_paths, "a module is either neutral or on a path, not both"


def test_a_version_ignores_docstrings_comments_and_layout_but_not_code(tmp_path):
    base = tmp_path / "m.py"
    base.write_text('"""Doc."""\ndef f(x):\n    """Why."""\n    return x * 2\n')
    same = tmp_path / "same.py"
    same.write_text('"""Other doc."""\n\n# a comment\ndef f(x):\n    """Other why."""\n\n    return x*2  # note\n')
    changed = tmp_path / "changed.py"
    changed.write_text('"""Doc."""\ndef f(x):\n    """Why."""\n    return x * 3\n')
    assert cv.source_fingerprint(base) == cv.source_fingerprint(same)
    assert cv.source_fingerprint(base) != cv.source_fingerprint(changed)


def test_unknown_names_are_refused_by_name():
    with pytest.raises(KeyError, match="unknown code path 'nope'"):
        cv.code_version("nope")
    with pytest.raises(KeyError, match="module 'no_such_module'"):
        cv.module_files("no_such_module")


def test_every_asset_code_version_is_its_code_paths_version():
    from pipelines.definitions import ALL_ASSETS

    seen = {}
    for asset in ALL_ASSETS:
        for key, version in getattr(asset, "code_versions_by_key", {}).items():
            seen[key.to_user_string()] = version
    graph = {k: v for k, v in seen.items() if k in cv.ASSET_PATHS}
    assert set(graph) == set(cv.ASSET_PATHS)  # the demo profile's graph has every asset
    assert graph == {k: cv.code_version(cv.ASSET_PATHS[k]) for k in graph}
    assert not {k for k, v in seen.items() if v is not None} - set(cv.ASSET_PATHS), "an asset without a code path"


def _edit(package: Path, module: str, old: str, new: str) -> None:
    path = package / "unibind_core" / module
    text = path.read_text()
    assert text.count(old) == 1, f"{module}: the text to edit is not there once"
    path.write_text(text.replace(old, new))


def _reword_module_docstring(package: Path, module: str) -> None:
    path = package / "unibind_core" / module
    text = path.read_text()
    assert text.startswith('"""')
    path.write_text('"""Reworded. ' + text[3:] + "\n# and a comment\n")


def _run(package: Path, data: Path, *args: str) -> dict[str, dict]:
    env = {**os.environ, "PYTHONPATH": str(package)}
    done = subprocess.run(
        [sys.executable, str(PIPELINE), str(data), *args], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["package"].startswith(str(package)), out["package"]  # the copy ran, not the checkout
    return out["stages"]


def _recomputed(stages: dict[str, dict]) -> set[str]:
    return {k for k, v in stages.items() if not v["reused"]}


# stages that always recompute (cheap, no reuse key): their data versions show whether their output changed
ALWAYS = {"descriptions", "captions", "kb", "centres", "evaluation"}


@pytest.mark.slow  # ~2 min on two cores: one tiny demo (6 digits a class) through every stage, three times
def test_an_edit_recomputes_its_stage_and_what_depends_on_it_and_nothing_else(tmp_path):
    package, data = tmp_path / "pkg", tmp_path / "data"
    shutil.copytree(cv.PACKAGE, package / "unibind_core", ignore=shutil.ignore_patterns("__pycache__"))
    first = _run(package, data)
    assert _recomputed(first) == set(first)
    always = ALWAYS | {k for k in first if k.startswith("manifest ")}

    # the head's loss doubled (and a docstring of a view reworded, which changes no code): heads only
    _edit(
        package, "method/aligners/lcl.py", "value = contrastive_loss(logits)", "value = 2.0 * contrastive_loss(logits)"
    )
    _reword_module_docstring(package, "encoders/backbone/views.py")
    second = _run(package, data)
    assert _recomputed(second) == always | {"heads"}
    assert second["heads"]["version"] != first["heads"]["version"]
    assert {k: v["version"] for k, v in second.items() if k != "heads" and k != "evaluation"} == {
        k: v["version"] for k, v in first.items() if k != "heads" and k != "evaluation"
    }

    # a view's code changed: the features (on its path) and the heads keyed on them; texts, backbone, world kept
    views = package / "unibind_core" / "encoders" / "backbone" / "views.py"
    views.write_text(views.read_text() + "\n\ndef _halved(x: torch.Tensor) -> torch.Tensor:\n    return x / 2\n")
    third = _run(package, data)
    assert _recomputed(third) == always | {"features", "heads"}
    assert third["features"]["version"] != second["features"]["version"]  # stamped with the new key
    for kept in ("world", "backbone", "text_embeddings", "kb"):
        assert third[kept]["version"] == second[kept]["version"], kept
