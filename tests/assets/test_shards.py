"""Shards fanned out to Dagster steps under the multiprocess executor give what one partition's step gives."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

import dagster as dg

from unibind_core.embed import cache_dir_for
from unibind_core.tables import FEATURES, TEXT_EMBEDDINGS

BENCH = "demo_image"
# The executor's child processes import the job from this folder (tests are not a package).
JOB = dg.build_reconstructable_job("sharded_job", "sharded_job",
                                   reconstructor_working_directory=str(Path(__file__).parent))


def _vectors(contract, path, columns):
    rows, vectors = contract.read_vectors(path, columns)
    return rows.to_pylist(), vectors


def test_shards_under_the_multiprocess_executor_equal_one_partition(materialized, tmp_path):
    _, resource, _ = materialized
    s = resource.settings()
    lay = s.layout
    outputs = {"data_embeddings": (FEATURES, lay.features(BENCH), ("sample_id", "split", "class_index")),
               "kb_text_embeddings": (TEXT_EMBEDDINGS, lay.text_embeddings(BENCH), ("ID", "kind", "text"))}
    before = {name: _vectors(*spec) for name, spec in outputs.items()}
    for _, path, _ in outputs.values():
        path.unlink()
    shutil.rmtree(cache_dir_for(lay.text_cache, "minilm"), ignore_errors=True)  # every text embedded anew
    config = {**resource.model_dump(exclude_none=True), "fan_out": True, "shard_size": 200}

    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        result = dg.execute_job(JOB, instance=instance,
                                run_config={"resources": {"unibind": {"config": config}}},
                                tags={"dagster/partition": BENCH})
        assert result.success
        starts = [e for e in result.all_events if e.event_type_value == "STEP_START"]
        for name in outputs:
            shard_steps = [e for e in starts if e.step_key.startswith(f"{name}.{name}_shard[")]
            assert len(shard_steps) >= 2, [e.step_key for e in starts]
            assert len({e.pid for e in shard_steps}) == len(shard_steps)  # each shard in its own process
            materialization = instance.get_latest_materialization_event(dg.AssetKey(name)).asset_materialization
            assert materialization.partition == BENCH
        features_meta = instance.get_latest_materialization_event(
            dg.AssetKey("data_embeddings")).asset_materialization.metadata
        assert features_meta["shards_computed_here"].value == 0  # the assemble step only assembled
        assert features_meta["shards_reused"].value == features_meta["shards"].value >= 2

    for name, spec in outputs.items():
        rows, vectors = _vectors(*spec)
        assert rows == before[name][0], name
        np.testing.assert_allclose(vectors, before[name][1], atol=1e-5, err_msg=name)
