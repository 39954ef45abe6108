"""Search assets: a FAISS index per benchmark's stored features, for `unibind search`."""

import dagster as dg

from assets.materialize import column_schema, run_partition_stage
from assets.data import data_embeddings
from assets.model import aligned_heads
from assets.partitions import BENCHMARK_PARTITIONS
from assets.resources import UnibindResource
from unibind_core.stages.index import stage_index
from unibind_core.tables import GALLERY


@dg.asset(group_name="evaluation", kinds={"faiss"}, code_version="1", metadata=column_schema(GALLERY),
          partitions_def=BENCHMARK_PARTITIONS, deps=[data_embeddings, aligned_heads],
          description="FAISS index of every stored feature, through the benchmark's head: exact (IndexFlatIP) "
                      "below index.exact_below vectors, IVF-PQ re-ranked exactly (or HNSW) above; its recall "
                      "against exact search in the metadata. Not automated (the sensor's "
                      "chains stay as they are): `unibind demo` builds it, or materialize it after new heads.")
def embedding_index(context: dg.AssetExecutionContext, unibind: UnibindResource) -> dg.MaterializeResult:
    return run_partition_stage(stage_index, unibind, context)
