"""Shards fanned out to Dagster steps give what one partition's single step gives: features under the
multiprocess executor (each shard its own process), text embeddings in process."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from assets.resources import UnibindResource
from pipelines.definitions import ALL_ASSETS
from unibind_core.knowledge.text_cache import cache_dir_for
from unibind_core.stages.features import feature_rows
from unibind_core.storage.tables import FEATURES, TEXT_EMBEDDINGS

pytestmark = pytest.mark.slow  # the multiprocess executor: ~45 s on 2 cores

BENCH = "demo_image"
# The executor's child processes import the job from this folder (tests are not a package).
JOB = dg.build_reconstructable_job(
    "sharded_job", "sharded_job", reconstructor_working_directory=str(Path(__file__).parent)
)


def _vectors(contract, path, columns):
    rows, vectors = contract.read_vectors(path, columns)
    return rows.to_pylist(), vectors


def _shard_steps(events, name: str) -> list:
    return [e for e in events if e.event_type_value == "STEP_START" and e.step_key.startswith(f"{name}.{name}_shard[")]


def test_feature_shards_under_the_multiprocess_executor_equal_one_partition(materialized, tmp_path):
    _, resource, _ = materialized
    s = resource.settings()
    path, columns = s.layout.features(BENCH), ("sample_id", "split", "class_index")
    before = _vectors(FEATURES, path, columns)
    path.unlink()
    shard_size = math.ceil(feature_rows(s, BENCH) / 2)  # two shard steps
    config = {**resource.model_dump(exclude_none=True), "fan_out": True, "shard_size": shard_size}

    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        result = dg.execute_job(
            JOB,
            instance=instance,
            run_config={"resources": {"unibind": {"config": config}}},
            tags={"dagster/partition": BENCH},
        )
        assert result.success
        steps = _shard_steps(result.all_events, "data_embeddings")
        assert len(steps) == 2 and len({e.pid for e in steps}) == 2  # each shard in its own process
        event = instance.get_latest_materialization_event(dg.AssetKey("data_embeddings")).asset_materialization
        assert event.partition == BENCH
        assert event.metadata["shards_computed_here"].value == 0  # the assemble step only assembled
        assert event.metadata["shards_reused"].value == event.metadata["shards"].value == 2
    rows, vectors = _vectors(FEATURES, path, columns)
    assert rows == before[0]
    np.testing.assert_allclose(vectors, before[1], atol=1e-6)


def test_text_shards_equal_one_partition(materialized):
    _, resource, _ = materialized
    s = resource.settings()
    path, columns = s.layout.text_embeddings(BENCH), ("ID", "kind", "text")
    before = _vectors(TEXT_EMBEDDINGS, path, columns)
    path.unlink()
    shutil.rmtree(cache_dir_for(s.layout.text_cache, "minilm"), ignore_errors=True)  # every text embedded anew
    sharded = UnibindResource(
        **{**resource.model_dump(exclude_none=True), "fan_out": True, "shard_size": math.ceil(len(before[0]) / 3)}
    )
    result = dg.materialize(
        ALL_ASSETS,
        selection=["kb_text_embeddings"],
        partition_key=BENCH,
        resources={"unibind": sharded},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    assert len(_shard_steps(result.all_events, "kb_text_embeddings")) == 3
    embedded = [
        e
        for e in result.all_events
        if e.event_type_value == "STEP_OUTPUT" and e.step_key.startswith("kb_text_embeddings.kb_text_embeddings_shard[")
    ]
    assert embedded  # the shards embedded the texts, the assemble step found them cached:
    meta = next(
        e.step_materialization_data.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("kb_text_embeddings")
    )
    assert meta["embedded_new"].value == 0
    rows, vectors = _vectors(TEXT_EMBEDDINGS, path, columns)
    assert rows == before[0]
    np.testing.assert_allclose(vectors, before[1], atol=1e-5)


def test_refresh_under_fan_out_recomputes_in_the_shard_steps_and_the_assemble_step_trusts_them(materialized):
    _, resource, _ = materialized
    s = resource.settings()
    path, columns = s.layout.text_embeddings(BENCH), ("ID", "kind", "text")
    before = _vectors(TEXT_EMBEDDINGS, path, columns)
    from unibind_core.stages.common import text_encoder

    cache = cache_dir_for(s.layout.text_cache, text_encoder(s, BENCH).name)
    shards_before = set(cache.glob("*.parquet"))
    fresh = UnibindResource(
        **{
            **resource.model_dump(exclude_none=True),
            "fan_out": True,
            "refresh": True,
            "shard_size": math.ceil(len(before[0]) / 2),
        }
    )
    result = dg.materialize(
        ALL_ASSETS,
        selection=["kb_text_embeddings"],
        partition_key=BENCH,
        resources={"unibind": fresh},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success and len(_shard_steps(result.all_events, "kb_text_embeddings")) == 2
    meta = next(
        e.step_materialization_data.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("kb_text_embeddings")
    )
    assert meta["reused_previous_output"].value is False  # the stored table was current, and not kept
    assert meta["embedded_new"].value == 0  # the shard steps embedded every text again; assembling read them
    assert len(set(cache.glob("*.parquet")) - shards_before) == 2  # one new cache shard per shard step
    rows, vectors = _vectors(TEXT_EMBEDDINGS, path, columns)
    assert rows == before[0]
    np.testing.assert_allclose(vectors, before[1], atol=1e-5)
