"""Bad input: a clear error naming the file or category, nothing half-written, and a rerun that completes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from unibind_core.core.settings import Settings
from unibind_core.data.benchmarks.manifest import DatasetLayoutError
from unibind_core.knowledge.describe import DESCRIBERS, TemplateDescriber
from unibind_core.stages.data import stage_manifest, stage_world
from unibind_core.stages.knowledge import stage_descriptions


def _settings(tmp_path: Path, **kw) -> Settings:
    return Settings(data_root=tmp_path, profile="demo", demo_max_per_class=3, descriptions_per_category=5, **kw)


def test_a_data_root_that_does_not_exist_is_named(tmp_path):
    with pytest.raises(DatasetLayoutError, match=r"dataset root of demo_audio does not exist: .*esc50"):
        stage_manifest(_settings(tmp_path / "nowhere"), "demo_audio")
    assert not (tmp_path / "nowhere" / "manifests").exists()


def test_a_deleted_or_corrupted_demo_file_is_repaired_by_a_rerun(tmp_path):
    s = _settings(tmp_path)
    assert stage_world(s).metadata["rebuilt"] != "none"
    assert stage_world(s).reused  # intact: nothing rewritten
    root = s.layout.datasets / "demo" / "ncaltech101" / "Caltech101"
    victim = sorted(root.rglob("*.bin"))[0]
    victim.write_bytes(victim.read_bytes()[:7])  # truncated mid-event
    result = stage_manifest(s, "demo_event")
    assert result.metadata["quarantined"] == 1  # the reader names it and carries on
    rerun = stage_world(s)
    assert rerun.metadata["rebuilt"] == "demo_event"
    assert stage_manifest(s, "demo_event").metadata["quarantined"] == 0


class _Silent(TemplateDescriber):
    def describe(self, category, noun, n):
        return [] if category.index == 2 else super().describe(category, noun, n)


def test_a_category_without_descriptions_is_named_and_nothing_is_written(tmp_path):
    DESCRIBERS.register("silent_on_two", _Silent)
    s = _settings(tmp_path)
    stage_world(s)
    stage_manifest(s, "demo_image")
    bad = _settings(tmp_path, describer="silent_on_two")
    with pytest.raises(ValueError, match=r"no usable descriptions for categories \['four'\]"):
        stage_descriptions(bad, "demo_image")
    assert not s.layout.descriptions("demo_image").exists()
    assert stage_descriptions(s, "demo_image").metadata["rows"] == 50  # the rerun completes


DAMAGE = {
    "demo_image": lambda p: p.write_bytes(b"\x00garbage, not an image" * 10),  # overwritten in place
    "demo_audio": lambda p: p.write_bytes(p.read_bytes()[:30]),  # a WAV cut inside its header
    "demo_pointcloud": lambda p: p.write_text("0.1,0.2\nnot,a,point\n"),
}  # a damaged point list


@pytest.mark.parametrize("bench", sorted(DAMAGE))
def test_a_file_damaged_after_the_manifest_is_quarantined_and_a_changed_file_decoded_again(tmp_path, bench):
    from unibind_core.data.benchmarks.build import dataset_root
    from unibind_core.data.decoding import cached_inputs, inputs_key
    from unibind_core.stages.common import read_manifest, spec_of

    s = _settings(tmp_path)
    stage_world(s)
    stage_manifest(s, bench)
    spec, manifest = spec_of(bench), read_manifest(s, bench)
    root = dataset_root(spec, s.layout.datasets)
    first = cached_inputs(spec, root, manifest, s.layout.input_cache)
    assert first.ok.all() and not first.failures
    victim = root / manifest["path"][3].as_py()
    key = inputs_key(spec, root, manifest)
    time.sleep(0.01)  # a distinct mtime even on coarse clocks
    DAMAGE[bench](victim)  # the manifest cannot tell
    assert inputs_key(spec, root, manifest) != key  # size and mtime are part of the key
    second = cached_inputs(spec, root, manifest, s.layout.input_cache)
    assert second.ok.sum() == len(manifest) - 1 and not second.ok[3]
    assert second.failures[0]["path"] == manifest["path"][3].as_py()
    assert "cannot decode" in second.failures[0]["reason"]
    assert len(second.inputs) == len(manifest) - 1
    cache_file = next(s.layout.input_cache.glob(f"{bench}-*.safetensors"))
    cache_file.write_bytes(b"damaged")  # a damaged cache entry is decoded again, not fatal
    third = cached_inputs(spec, root, manifest, s.layout.input_cache)
    assert (third.ok == second.ok).all() and len(list(s.layout.input_cache.glob(f"{bench}-*"))) == 1


def test_features_and_text_embeddings_of_different_sizes_are_named_as_two_spaces(tmp_path):
    import numpy as np

    from unibind_core.stages.centres import stage_centres
    from unibind_core.storage.tables import CLASSES, FEATURES, TEXT_EMBEDDINGS

    s = _settings(tmp_path)
    CLASSES.write(
        CLASSES.table({"class_index": [0], "class_key": ["a"], "class_name": ["a"], "dataset_index": [0]}),
        s.layout.classes("demo_image"),
    )
    FEATURES.write(
        FEATURES.table({"sample_id": ["x"], "split": ["train"], "class_index": [0]}, np.eye(1, 4, dtype=np.float32)),
        s.layout.features("demo_image"),
    )
    TEXT_EMBEDDINGS.write(
        TEXT_EMBEDDINGS.table(
            {"ID": ["cat:a:0"], "Category": ["a"], "kind": ["description"], "text": ["t"], "text_hash": ["h"]},
            np.eye(1, 3, dtype=np.float32),
        ),
        s.layout.text_embeddings("demo_image"),
    )
    with pytest.raises(
        ValueError,
        match=r"data features have 4 dimensions \(backbone 'demo'\) but text "
        r"embeddings 3 \(text encoder 'minilm'\): they are not one embedding space",
    ):
        stage_centres(s, "demo_image")
    assert not s.layout.centres("demo_image").exists()


def test_a_class_list_not_numbered_0_to_c_minus_1_is_named_with_the_asset_that_rewrites_it(tmp_path):
    """A class table written before the dense rule (ESC-50 targets kept as indices) stops the first stage that
    reads it, instead of surfacing as classes without centres or an index out of bounds later."""
    from unibind_core.storage.tables import CLASSES

    s = _settings(tmp_path)
    CLASSES.write(
        CLASSES.table(
            {
                "class_index": [0, 10, 14],
                "class_key": ["dog", "rain", "chirping_birds"],
                "class_name": ["dog", "rain", "chirping birds"],
                "dataset_index": [None] * 3,
            }
        ),
        s.layout.classes("demo_audio"),
    )
    with pytest.raises(
        ValueError,
        match=r"demo_audio: the class list numbers its 3 classes \[0, 10, 14\]\.\.\., "
        r"not 0\.\.2; re-materialize benchmark_manifest",
    ):
        stage_descriptions(s, "demo_audio")
