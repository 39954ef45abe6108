"""Data stage assets: the demo world, benchmark manifests, the demo backbone, frozen features.

The demo world and the demo backbone belong to the demo profile: in any other the manifests read the
user's datasets and the features come from a real backbone, so neither is in the graph there."""

import dagster as dg

from assets.compute import GPU_STEP
from assets.materialize import column_schema, run_partition_stage, run_stage
from assets.partitions import BENCHMARK_PARTITIONS, DEMO_PROFILE
from assets.resources import UnibindResource
from assets.sharded import sharded_asset
from unibind_core.core.code_versions import asset_code_version
from unibind_core.stages.data import stage_backbone, stage_manifest, stage_world
from unibind_core.stages.features import features_shard, plan_features, stage_features
from unibind_core.storage.tables import FEATURES, MANIFEST


@dg.asset(
    group_name="data",
    kinds={"python"},
    code_version=asset_code_version("demo_world"),
    description="Demo world: sklearn digits written as six modalities in real benchmarks' formats.",
)
def demo_world(context: dg.AssetExecutionContext, unibind: UnibindResource) -> dg.MaterializeResult:
    return run_stage(stage_world, unibind, context=context)


@dg.asset(
    group_name="data",
    kinds={"parquet"},
    code_version=asset_code_version("benchmark_manifest"),
    metadata=column_schema(MANIFEST),
    partitions_def=BENCHMARK_PARTITIONS,
    deps=[demo_world] if DEMO_PROFILE else [],
    description="One manifest per benchmark: samples, splits, classes, quarantine.",
)
def benchmark_manifest(context: dg.AssetExecutionContext, unibind: UnibindResource) -> dg.MaterializeResult:
    return run_partition_stage(stage_manifest, unibind, context)


@dg.asset(
    op_tags=GPU_STEP,
    group_name="data",
    kinds={"pytorch", "safetensors"},
    code_version=asset_code_version("demo_backbone"),
    deps=[benchmark_manifest],
    description="Demo encoders pre-trained image-centrically (image<->text, other modalities<->image).",
)
def demo_backbone(context: dg.AssetExecutionContext, unibind: UnibindResource) -> dg.MaterializeResult:
    return run_stage(stage_backbone, unibind, context=context)


data_embeddings = sharded_asset(
    name="data_embeddings",
    stage=stage_features,
    plan=plan_features,
    shard=features_shard,
    upstream=[benchmark_manifest, *([demo_backbone] if DEMO_PROFILE else [])],
    op_tags=GPU_STEP,
    group_name="data",
    kinds={"pytorch", "parquet"},
    code_version=asset_code_version("data_embeddings"),
    metadata=column_schema(FEATURES),
    partitions_def=BENCHMARK_PARTITIONS,
    checks=[
        dg.AssetCheckSpec(
            "vectors_valid",
            asset="data_embeddings",
            blocking=True,
            description="Every feature vector finite, unit norm, of the backbone's size.",
        )
    ],
    description="Frozen backbone features of every sample, computed once per inputs, in shards (one step "
    "each with fan_out).",
)
