"""Features computed in shards: the same table as one pass, resumable after SIGKILL, fan-out shards reused.

Uses the tiny open_clip backbone (no pre-training needed) on the demo's image benchmark."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from unibind_core.core.settings import Settings
from unibind_core.demo.world import build_dataset
from unibind_core.stages.common import spec_of
from unibind_core.stages.data import stage_manifest
from unibind_core.stages.features import feature_rows, features_shard, stage_features
from unibind_core.storage.shards import plan_shards
from unibind_core.storage.tables import FEATURES

BENCH = "demo_image"
REPO = Path(__file__).resolve().parents[4]


def _options(root: Path, tiny_open_clip, **extra) -> dict:
    name, weights = tiny_open_clip
    return dict(
        data_root=str(root),
        profile="demo",
        demo_max_per_class=6,
        backbone="open_clip",
        backbone_model=name,
        backbone_weights=str(weights),
        device="cpu",
        **extra,
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory, tiny_open_clip) -> Path:
    root = tmp_path_factory.mktemp("shards")
    s = Settings(**_options(root, tiny_open_clip))
    spec = spec_of(BENCH)
    build_dataset(spec.demo_writer, s.layout.datasets / spec.root, s.seed, s.demo_max_per_class)  # this one only
    stage_manifest(s, BENCH)
    return root


def _features(s: Settings) -> tuple[list, np.ndarray]:
    rows, vectors = FEATURES.read_vectors(s.layout.features(BENCH), ("sample_id", "split", "class_index"))
    return rows.to_pylist(), vectors


def _one_pass(world: Path, tiny_open_clip) -> tuple[list, np.ndarray]:
    s = Settings(**_options(world, tiny_open_clip, shard_size=100_000))
    s.layout.features(BENCH).unlink(missing_ok=True)  # a test before may have left its assembled table
    assert stage_features(s, BENCH).metadata["shards"] == 1
    result = _features(s)
    s.layout.features(BENCH).unlink()
    return result


@pytest.mark.slow  # SIGKILLed shard processes: ~19 s
def test_sigkilled_shards_resume_and_give_the_one_pass_table(world, tiny_open_clip):
    expected_rows, expected = _one_pass(world, tiny_open_clip)
    options = _options(world, tiny_open_clip, shard_size=4, batch_size=1)
    s = Settings(**options)
    total = len(plan_shards(feature_rows(s, BENCH), 4))
    shard_dir = s.layout.shards("features", BENCH)
    script = (
        "import json, sys; from pathlib import Path; from tiny_models import register_tiny_open_clip; "
        "register_tiny_open_clip(Path(sys.argv[2])); from unibind_core.core.settings import Settings; "
        "from unibind_core.stages.features import stage_features; "
        f"stage_features(Settings(**json.loads(sys.argv[1])), {BENCH!r})"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": f"{REPO}{os.pathsep}{Path(__file__).parent}"}
    proc = subprocess.Popen(
        [sys.executable, "-c", script, json.dumps(options), str(Path(tiny_open_clip[1]).parent)], env=env, cwd=REPO
    )
    deadline = time.monotonic() + 240
    while not list(shard_dir.glob("*/*.parquet")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not s.layout.features(BENCH).exists(), "the run finished before it could be killed"
    done = len(list(shard_dir.glob("*/*.parquet")))
    assert 1 <= done < total

    rerun = stage_features(s, BENCH)
    assert rerun.metadata["shards"] == total
    assert rerun.metadata["shards_reused"] == done and rerun.metadata["shards_computed_here"] == total - done
    rows, vectors = _features(s)
    assert rows == expected_rows  # same samples, same order
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    assert not shard_dir.exists()  # assembled: the shards are gone
    s.layout.features(BENCH).unlink()


def test_fan_out_shards_are_assembled_not_recomputed(world, tiny_open_clip):
    expected_rows, expected = _one_pass(world, tiny_open_clip)
    s = Settings(**_options(world, tiny_open_clip, shard_size=16))
    shards = plan_shards(feature_rows(s, BENCH), 16)
    assert len(shards) > 2
    for shard in reversed(shards):  # steps finish in any order
        assert features_shard(s, BENCH, shard.start, shard.stop)["computed"]
    assert not features_shard(s, BENCH, shards[0].start, shards[0].stop)["computed"]  # stored: not again
    with pytest.raises(ValueError, match="not a shard of the current plan"):
        features_shard(s, BENCH, 0, 5)
    result = stage_features(s, BENCH)
    assert result.metadata["shards_computed_here"] == 0 and result.metadata["shards_reused"] == len(shards)
    rows, vectors = _features(s)
    assert rows == expected_rows
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    assert features_shard(s, BENCH, shards[0].start, shards[0].stop)["reason"] == "features already assembled"


def test_shard_steps_take_the_key_from_the_plan_step(world, tiny_open_clip, monkeypatch):
    import unibind_core.stages.features as features
    from unibind_core.storage.shards import PLAN_FILE, ShardPlan

    expected_rows, expected = _one_pass(world, tiny_open_clip)
    s = Settings(**_options(world, tiny_open_clip, shard_size=16))
    shards = features.plan_features(s, BENCH)  # derives the key once and stores it beside the shards
    folder = s.layout.shards("features", BENCH)
    plan = ShardPlan.read(folder, feature_rows(s, BENCH), 16)
    assert plan is not None and plan.shards == shards and plan.facts["model_id"].startswith("open_clip:")
    assert ShardPlan.read(folder, feature_rows(s, BENCH), 8) is None  # made for another shard size

    def no_stat(*args, **kwargs):
        raise AssertionError("a planned shard step derived the inputs key again")

    with monkeypatch.context() as m:
        m.setattr(features, "inputs_key", no_stat)
        m.setattr(features, "features_key_parts", no_stat)
        for shard in shards:
            assert features_shard(s, BENCH, shard.start, shard.stop)["computed"]
        with pytest.raises(AssertionError, match="derived the inputs key again"):
            stage_features(s, BENCH)  # the assembling stage never trusts the plan
    result = stage_features(s, BENCH)
    assert result.metadata["shards_reused"] == len(shards) and result.metadata["shards_computed_here"] == 0
    rows, vectors = _features(s)
    assert rows == expected_rows
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    assert not (folder / PLAN_FILE).exists()  # assembled: plan and shards are gone
    s.layout.features(BENCH).unlink()


def test_a_stale_plan_costs_a_recomputation_not_a_wrong_table(world, tiny_open_clip):
    from unibind_core.storage.shards import ShardPlan

    expected_rows, expected = _one_pass(world, tiny_open_clip)
    s = Settings(**_options(world, tiny_open_clip, shard_size=16))
    shards = plan_shards(feature_rows(s, BENCH), 16)
    folder = s.layout.shards("features", BENCH)
    ShardPlan(feature_rows(s, BENCH), 16, "stale-key", {"inputs_key": "stale", "model_id": "stale"}).write(folder)
    features_shard(s, BENCH, shards[0].start, shards[0].stop)  # stored under the stale key
    result = stage_features(s, BENCH)
    assert result.metadata["shards_computed_here"] == len(shards)  # none under the real key
    rows, vectors = _features(s)
    assert rows == expected_rows
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    s.layout.features(BENCH).unlink()
