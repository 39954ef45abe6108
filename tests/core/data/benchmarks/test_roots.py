"""The pipeline finds a benchmark under any folder name its distributions unpack to (spec.root_names)."""
from __future__ import annotations

import pytest

from unibind_core.data.benchmarks.build import build_manifest, dataset_root
from unibind_core.data.benchmarks.manifest import DatasetLayoutError
from unibind_core.data.benchmarks.spec import BENCHMARKS, PAPER

from tests.helpers.layouts import write_princeton


def test_a_princeton_modelnet40_copy_is_found_under_its_own_name(tmp_path):
    spec = BENCHMARKS["modelnet40"]
    assert spec.root == "modelnet40_normal_resampled" and "ModelNet40" in spec.root_names
    write_princeton(tmp_path / "ModelNet40")
    assert dataset_root(spec, tmp_path) == tmp_path / "ModelNet40"
    manifest = build_manifest(spec, tmp_path)
    assert manifest.table.num_rows == 4 and manifest.classes.num_rows == 40
    assert set(manifest.table["path"].to_pylist()) == {  # read with prefix '' from the Princeton folder itself
        "bed/train/bed_0001.off", "bed/train/bed_0002.off", "bed/test/bed_0003.off", "xbox/test/xbox_0001.off"}
    (tmp_path / "modelnet40_normal_resampled").mkdir()
    assert dataset_root(spec, tmp_path) == tmp_path / "modelnet40_normal_resampled"  # the spec's root comes first


def test_a_missing_root_names_every_place_looked_in(tmp_path):
    spec = BENCHMARKS["modelnet40"]
    with pytest.raises(DatasetLayoutError) as info:
        dataset_root(spec, tmp_path)
    message = str(info.value)
    assert message.startswith(f"dataset root of modelnet40 does not exist: {tmp_path / spec.root}")
    assert all(str(tmp_path / name) in message for name in spec.root_names)


def test_every_paper_benchmark_accepts_its_root_first_and_names_are_unique():
    for name, spec in PAPER.items():
        assert spec.root_names[0] == spec.root and len(set(spec.root_names)) == len(spec.root_names), name
    assert BENCHMARKS["demo_audio"].root_names == ("demo/esc50",)
