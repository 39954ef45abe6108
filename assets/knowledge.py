"""Knowledge stage assets: descriptions, captions, the knowledge base (+ check), text embeddings."""

import dagster as dg

from assets.compute import GPU_STEP
from assets.curated import curated_descriptions, curated_prompts
from assets.data import benchmark_manifest
from assets.materialize import (
    ON_UPSTREAM_DATA_CHANGE,
    column_schema,
    run_partition_stage,
)
from assets.partitions import BENCHMARK_PARTITIONS
from assets.resources import UnibindResource
from assets.sharded import by_rows, sharded_asset
from unibind_core.core.code_versions import asset_code_version
from unibind_core.stages.knowledge import (
    caption_rows,
    captions_shard,
    stage_captions,
    stage_descriptions,
    stage_kb,
    stage_text_embeddings,
    text_embeddings_shard,
    text_rows,
)
from unibind_core.storage.tables import CAPTIONS, DESCRIPTIONS, KNOWLEDGE_BASE, TEXT_EMBEDDINGS

API_RETRY = dg.RetryPolicy(max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


@dg.asset(
    group_name="knowledge",
    kinds={"parquet"},
    code_version=asset_code_version("category_descriptions"),
    metadata=column_schema(DESCRIPTIONS),
    partitions_def=BENCHMARK_PARTITIONS,
    deps=[benchmark_manifest],
    retry_policy=API_RETRY,
    description="Many short descriptions per category from the configured Describer (paper prompt).",
)
def category_descriptions(context: dg.AssetExecutionContext, unibind: UnibindResource) -> dg.MaterializeResult:
    return run_partition_stage(stage_descriptions, unibind, context)


data_captions = sharded_asset(
    name="data_captions",
    stage=stage_captions,
    plan=by_rows(caption_rows),
    shard=captions_shard,
    upstream=[benchmark_manifest],
    op_tags=GPU_STEP,
    retry_policy=API_RETRY,
    group_name="knowledge",
    kinds={"parquet"},
    code_version=asset_code_version("data_captions"),
    metadata=column_schema(CAPTIONS),
    partitions_def=BENCHMARK_PARTITIONS,
    description="One caption per training sample from the configured Captioner, cached per sample, in shards "
    "(one step each with fan_out).",
)


@dg.asset(
    group_name="knowledge",
    kinds={"parquet", "duckdb"},
    code_version=asset_code_version("knowledge_base"),
    metadata=column_schema(KNOWLEDGE_BASE),
    partitions_def=BENCHMARK_PARTITIONS,
    deps=[category_descriptions, data_captions, curated_descriptions],
    automation_condition=ON_UPSTREAM_DATA_CHANGE,
    check_specs=[
        dg.AssetCheckSpec(
            "kb_valid",
            asset="knowledge_base",
            blocking=True,
            description="Unique IDs; no empty or >75-BPE-token descriptions; every category described.",
        )
    ],
    description="The knowledge base: ID, Category, Description, Source (+ provenance), one table per dataset.",
)
def knowledge_base(context: dg.AssetExecutionContext, unibind: UnibindResource) -> dg.MaterializeResult:
    return run_partition_stage(stage_kb, unibind, context)


kb_text_embeddings = sharded_asset(
    name="kb_text_embeddings",
    stage=stage_text_embeddings,
    plan=by_rows(text_rows),
    shard=text_embeddings_shard,
    upstream=[knowledge_base, curated_prompts],
    op_tags=GPU_STEP,
    group_name="knowledge",
    kinds={"pytorch", "parquet"},
    code_version=asset_code_version("kb_text_embeddings"),
    metadata=column_schema(TEXT_EMBEDDINGS),
    partitions_def=BENCHMARK_PARTITIONS,
    automation_condition=ON_UPSTREAM_DATA_CHANGE,
    checks=[
        dg.AssetCheckSpec(
            "vectors_valid",
            asset="kb_text_embeddings",
            blocking=True,
            description="Every text vector finite, unit norm, of the text tower's size.",
        )
    ],
    description="Text-tower embeddings of every KB text and zero-shot prompt, cached by content hash, in "
    "shards (one step each with fan_out).",
)
