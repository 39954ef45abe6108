"""Assets that use what was learned: a FAISS index per benchmark's stored features (`unibind search`), and
predictions over an observed folder of new inputs (`unibind predict`'s code path)."""

import warnings

import dagster as dg

from assets.data import data_embeddings
from assets.materialize import column_schema, run_partition_stage
from assets.model import aligned_heads, embedding_centres
from assets.partitions import BENCHMARK_PARTITIONS, BENCHMARKS
from assets.resources import UnibindResource
from unibind_core.core.code_versions import asset_code_version
from unibind_core.stages.index import stage_index
from unibind_core.stages.predictions import inbox_version, stage_predictions
from unibind_core.storage.tables import GALLERY, PREDICTIONS


@dg.asset(
    group_name="evaluation",
    kinds={"faiss"},
    code_version=asset_code_version("embedding_index"),
    metadata=column_schema(GALLERY),
    partitions_def=BENCHMARK_PARTITIONS,
    deps=[data_embeddings, aligned_heads],
    description="FAISS index of every stored feature, through the benchmark's head: exact (IndexFlatIP) "
    "below index.exact_below vectors, IVF-PQ re-ranked exactly (or HNSW) above; its recall "
    "against exact search in the metadata. Not automated (the sensor's "
    "chains stay as they are): `unibind demo` builds it, or materialize it after new heads.",
)
def embedding_index(context: dg.AssetExecutionContext, unibind: UnibindResource) -> dg.MaterializeResult:
    return run_partition_stage(stage_index, unibind, context)


warnings.filterwarnings("ignore", message=".*observable_source_asset.*beta", category=dg.BetaWarning)


@dg.observable_source_asset(
    group_name="evaluation",
    partitions_def=BENCHMARK_PARTITIONS,
    required_resource_keys={"unibind"},
    description="New files to classify: <data_root>/inbox/<benchmark>/ (any sub-folders). "
    "Its data version is a hash of the files' paths, sizes and mtimes.",
)
def new_inputs(context) -> dg.DataVersionsByPartition:
    s = context.resources.unibind.settings()
    return dg.DataVersionsByPartition({b: dg.DataVersion(inbox_version(s, b)) for b in BENCHMARKS})


@dg.asset(
    group_name="evaluation",
    kinds={"parquet"},
    code_version=asset_code_version("predictions"),
    metadata=column_schema(PREDICTIONS),
    partitions_def=BENCHMARK_PARTITIONS,
    deps=[new_inputs, aligned_heads, embedding_centres],
    description="Every file in <data_root>/inbox/<benchmark>/ classified with the fine-tuned centres (top 5, "
    "as `unibind predict`); files that do not decode in predictions/<benchmark>.failures.parquet. "
    "Not automated: observe new_inputs and materialize it.",
)
def predictions(context: dg.AssetExecutionContext, unibind: UnibindResource) -> dg.MaterializeResult:
    return run_partition_stage(stage_predictions, unibind, context)
