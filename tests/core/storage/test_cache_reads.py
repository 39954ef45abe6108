"""A stored file that cannot be read is logged with its path and reason, then recomputed; an error that is no
file's damage (a bug) propagates. And `refresh` recomputes a stage whose stored output is current."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unibind_core.core.progress import reporting
from unibind_core.core.settings import Settings
from unibind_core.data.benchmarks.spec import BENCHMARKS
from unibind_core.data.decoding import cached_inputs, cached_rows, decode_inputs, inputs_key
from unibind_core.storage.io import stored_inputs_key


@pytest.fixture
def lines():
    """The progress listener's lines while the test runs (what the Dagster run log and the CLI show)."""
    seen: list[str] = []
    with reporting(lambda event: seen.append(event.line())):
        yield seen


def test_an_unreadable_stamp_is_logged_with_path_and_reason(tmp_path, lines, caplog):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    assert stored_inputs_key(bad) is None
    assert len(lines) == 1 and str(bad) in lines[0] and "ArrowInvalid" in lines[0] and "recomputing" in lines[0]
    assert str(bad) in caplog.text  # plain-Python users see it through logging
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{not json")
    assert stored_inputs_key(broken) is None
    assert str(broken) in lines[1] and "SafetensorError" in lines[1]


def test_an_unexpected_error_reading_a_stamp_propagates(tmp_path, monkeypatch):
    import unibind_core.storage.io as io

    path = tmp_path / "x.parquet"
    path.write_bytes(b"PAR1")

    def bug(_path):
        raise RuntimeError("a bug in the reader, not a damaged file")

    monkeypatch.setattr(io.pq, "read_schema", bug)
    with pytest.raises(RuntimeError, match="a bug in the reader"):
        stored_inputs_key(path)


@pytest.fixture(scope="module")
def demo_image(tmp_path_factory):
    """The demo's image dataset (2 digits a class) and its manifest."""
    from unibind_core.demo.world import build_dataset
    from unibind_core.stages.common import read_manifest
    from unibind_core.stages.data import stage_manifest

    s = Settings(data_root=tmp_path_factory.mktemp("img"))
    spec = BENCHMARKS["demo_image"]
    build_dataset(spec.demo_writer, s.layout.datasets / spec.root, seed=0, max_per_class=2)
    stage_manifest(s, "demo_image")
    return s, spec, s.layout.datasets / spec.root, read_manifest(s, "demo_image")


def test_a_damaged_decoded_input_cache_is_logged_and_decoded_again(demo_image, lines):
    s, spec, root, manifest = demo_image
    cache = s.layout.input_cache
    first = cached_inputs(spec, root, manifest, cache)
    path = next(cache.glob(f"{spec.name}-*.safetensors"))
    path.write_bytes(path.read_bytes()[:40])  # truncated mid-header
    assert cached_rows(spec, manifest, cache, inputs_key(spec, root, manifest), 0, 4) is None
    again = cached_inputs(spec, root, manifest, cache)
    assert torch.equal(again.inputs, first.inputs) and np.array_equal(again.ok, first.ok)
    assert torch.equal(again.inputs, decode_inputs(spec, root, manifest).inputs)
    named = [line for line in lines if str(path) in line]
    assert len(named) == 2 and all("SafetensorError" in line for line in named), lines
    assert "decoding the files" in named[1]
    assert cached_rows(spec, manifest, cache, inputs_key(spec, root, manifest), 0, 4) is not None  # rewritten


def test_an_unexpected_error_reading_the_decoded_input_cache_propagates(demo_image, monkeypatch):
    import unibind_core.data.decoding as features

    s, spec, root, manifest = demo_image
    cached_inputs(spec, root, manifest, s.layout.input_cache)

    def bug(*_args, **_kwargs):
        raise RuntimeError("a bug, not a damaged cache")

    monkeypatch.setattr(features, "safe_open", bug)
    with pytest.raises(RuntimeError, match="a bug, not a damaged cache"):
        cached_inputs(spec, root, manifest, s.layout.input_cache)


def test_refresh_decodes_again_though_the_cache_is_current(demo_image, monkeypatch):
    import unibind_core.data.decoding as features

    s, spec, root, manifest = demo_image
    cached_inputs(spec, root, manifest, s.layout.input_cache)
    calls = []
    real = features.decode_inputs
    monkeypatch.setattr(features, "decode_inputs", lambda *a: calls.append(1) or real(*a))
    cached_inputs(spec, root, manifest, s.layout.input_cache)
    assert calls == []  # current: read from the cache
    cached_inputs(spec, root, manifest, s.layout.input_cache, refresh=True)
    assert calls == [1]


def test_refresh_rebuilds_a_stage_whose_stored_output_is_current(tmp_path):
    from dataclasses import replace

    from unibind_core.stages.data import stage_world

    s = Settings(data_root=tmp_path, demo_max_per_class=1)
    assert stage_world(s).reused is False
    kept = stage_world(s)
    assert kept.reused is True and kept.metadata["rebuilt"] == "none"
    fresh = stage_world(replace(s, refresh=True))
    assert fresh.reused is False and set(fresh.metadata["rebuilt"].split(", ")) == set(fresh.metadata["files"])
    assert fresh.data_version == kept.data_version  # the same code and seed rebuild the same files


def test_refresh_is_a_resource_option_like_the_others(tmp_path):
    from assets.resources import UnibindResource

    assert UnibindResource(data_root=str(tmp_path)).settings().refresh is False
    assert UnibindResource(data_root=str(tmp_path), refresh=True).settings().refresh is True
