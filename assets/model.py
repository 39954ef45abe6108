"""Model stage assets: embedding centres (+ check), aligned heads, evaluation, the results table."""

import dagster as dg

from assets.compute import GPU_STEP
from assets.data import data_embeddings
from assets.knowledge import kb_text_embeddings
from assets.materialize import (
    ON_UPSTREAM_DATA_CHANGE,
    column_schema,
    run_partition_stage,
    run_stage,
)
from assets.partitions import BENCHMARK_PARTITIONS, BENCHMARKS, WITH_PARTNERS
from assets.resources import UnibindResource
from unibind_core.core.code_versions import asset_code_version
from unibind_core.stages.centres import stage_centres
from unibind_core.stages.evaluation import stage_evaluation
from unibind_core.stages.heads import stage_head
from unibind_core.stages.results import stage_results
from unibind_core.stages.retrieval import stage_retrieval
from unibind_core.storage.tables import CENTRES, EVALUATIONS, RESULTS, RETRIEVAL


@dg.asset(
    group_name="centres",
    kinds={"faiss", "parquet"},
    code_version=asset_code_version("embedding_centres"),
    metadata=column_schema(CENTRES),
    partitions_def=BENCHMARK_PARTITIONS,
    deps=[kb_text_embeddings, data_embeddings],
    automation_condition=ON_UPSTREAM_DATA_CHANGE,
    check_specs=[
        dg.AssetCheckSpec(
            "centres_valid",
            asset="embedding_centres",
            blocking=True,
            description="Shape, stored K per class, finite unit vectors.",
        )
    ],
    description="Per class, the top-K descriptions (FAISS inner product) kept as its embedding centres.",
)
def embedding_centres(context: dg.AssetExecutionContext, unibind: UnibindResource) -> dg.MaterializeResult:
    return run_partition_stage(stage_centres, unibind, context)


@dg.asset(
    op_tags=GPU_STEP,
    group_name="heads",
    kinds={"pytorch", "safetensors"},
    code_version=asset_code_version("aligned_heads"),
    partitions_def=BENCHMARK_PARTITIONS,
    deps=[dg.AssetDep(data_embeddings, partition_mapping=WITH_PARTNERS), kb_text_embeddings, embedding_centres],
    automation_condition=ON_UPSTREAM_DATA_CHANGE,
    description="One head per aligner (ALIGNERS: lcl, centrobind, exmcr) on cached features, on the fixed split "
    "and on each official fold; best checkpoint on each run's eval split. CentroBind's anchor "
    "includes each sample's partner in a paired benchmark's features (hence that dependency).",
)
def aligned_heads(context: dg.AssetExecutionContext, unibind: UnibindResource) -> dg.MaterializeResult:
    return run_partition_stage(stage_head, unibind, context)


@dg.asset(
    group_name="evaluation",
    kinds={"parquet"},
    code_version=asset_code_version("benchmark_evaluation"),
    metadata=column_schema(EVALUATIONS),
    partitions_def=BENCHMARK_PARTITIONS,
    deps=[aligned_heads, embedding_centres],
    automation_condition=ON_UPSTREAM_DATA_CHANGE,
    description="Test split (and each official test fold): templates vs centres, zero-shot and through each "
    "aligner's head; embedding map and training curves as PNG.",
)
def benchmark_evaluation(context: dg.AssetExecutionContext, unibind: UnibindResource) -> dg.MaterializeResult:
    return run_partition_stage(stage_evaluation, unibind, context)


@dg.asset(
    group_name="evaluation",
    kinds={"parquet"},
    code_version=asset_code_version("retrieval_evaluation"),
    metadata=column_schema(RETRIEVAL),
    deps=[aligned_heads, data_embeddings],
    automation_condition=ON_UPSTREAM_DATA_CHANGE,
    description="Cross-modal recall@1/5/10/20 both ways over the pairs the manifests hold (image <-> event), "
    "zero-shot and through each side's head; per official fold and their mean where both sides "
    "are cross-validated.",
)
def retrieval_evaluation(context: dg.AssetExecutionContext, unibind: UnibindResource) -> dg.MaterializeResult:
    return run_stage(stage_retrieval, unibind, list(BENCHMARKS), context=context)


@dg.asset(
    group_name="evaluation",
    kinds={"duckdb", "parquet"},
    code_version=asset_code_version("results_table"),
    metadata=column_schema(RESULTS),
    deps=[benchmark_evaluation, retrieval_evaluation],
    automation_condition=ON_UPSTREAM_DATA_CHANGE,
    description="Results across benchmarks, balance across modalities, the aligners side by side, a plot, the "
    "DuckDB catalogue.",
)
def results_table(context: dg.AssetExecutionContext, unibind: UnibindResource) -> dg.MaterializeResult:
    return run_stage(stage_results, unibind, list(BENCHMARKS), context=context)
