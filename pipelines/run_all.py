"""Materialize the whole graph, every partition, into one Dagster instance, in dependency order.

Runs in-process (one Python process, models loaded once) as a handful of ordinary Dagster runs, so
everything shows in the UI of the same instance. Stage order follows the asset graph: partitioned
assets upstream of the backbone, the backbone, partitioned assets downstream of it, then results.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import dagster as dg

from assets.resources import UnibindResource
from pipelines.definitions import ALL_ASSETS

WAVES: tuple[tuple[tuple[str, ...], bool], ...] = (
    (("demo_world",), False),
    (("benchmark_manifest", "category_descriptions", "data_captions", "knowledge_base", "kb_text_embeddings"), True),
    (("demo_backbone",), False),
    (("data_embeddings", "embedding_centres", "aligned_heads", "benchmark_evaluation"), True),
    (("results_table",), False),
)


# Dagster's console logger prints every engine event; the UI keeps them all, the terminal needs warnings.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def materialize_all(resource: UnibindResource, instance: dg.DagsterInstance, partitions: Sequence[str],
                    log: Callable[[str], None] = print) -> dict[str, float]:
    """Run every wave; returns wall seconds per run. Raises on the first failed run (it names the step)."""
    timings: dict[str, float] = {}
    for selection, partitioned in WAVES:
        for key in partitions if partitioned else (None,):
            label = f"{'+'.join(selection)}" + (f" [{key}]" if key else "")
            start = time.perf_counter()
            result = dg.materialize(ALL_ASSETS, selection=list(selection), partition_key=key, instance=instance, run_config=QUIET,
                                    resources={"unibind": resource}, raise_on_error=True)
            timings[label] = time.perf_counter() - start
            log(f"  {timings[label]:6.1f}s  {label}  (run {result.run_id[:8]})")
    return timings
