"""Curated knowledge-base inputs as observable sources: their data version is their files' content hash
(knowledge/curated.py reads and applies them: the same idea, here at the Dagster layer).

`curated_descriptions` (overrides table) feeds `knowledge_base`; `curated_prompts` (templates file) feeds
`kb_text_embeddings`. The `curated_inputs` sensor hashes the files of every benchmark each tick and
records a new observation only for those whose hash changed, so `ON_UPSTREAM_DATA_CHANGE` requests
exactly the touched benchmark's chain. Observing from the UI ("Observe sources") reports every benchmark.
"""

from __future__ import annotations

import json
import warnings

import dagster as dg

from assets.partitions import BENCHMARK_PARTITIONS, BENCHMARKS
from assets.resources import UnibindResource
from unibind_core.knowledge.curated import ABSENT, CURATED_INPUTS, DESCRIPTION_OVERRIDES, PROMPT_TEMPLATES, CuratedInput
from unibind_core.storage.layout import Layout


def _observe(what: CuratedInput, unibind: UnibindResource) -> dg.DataVersionsByPartition:
    layout = unibind.settings().layout
    return dg.DataVersionsByPartition({b: dg.DataVersion(what.version(layout, b)) for b in BENCHMARKS})


warnings.filterwarnings("ignore", message=".*observable_source_asset.*beta", category=dg.BetaWarning)


@dg.observable_source_asset(
    group_name="knowledge",
    partitions_def=BENCHMARK_PARTITIONS,
    required_resource_keys={"unibind"},
    description="A curator's overrides of one benchmark's knowledge base: "
    "<data_root>/curated/<benchmark>/descriptions.csv (or .parquet) with "
    "ID, Category, Description, Source. Its data version is the file's hash.",
)
def curated_descriptions(context) -> dg.DataVersionsByPartition:
    return _observe(DESCRIPTION_OVERRIDES, context.resources.unibind)


@dg.observable_source_asset(
    group_name="knowledge",
    partitions_def=BENCHMARK_PARTITIONS,
    required_resource_keys={"unibind"},
    description="Zero-shot prompt templates of one benchmark, replacing CLIP's 80: "
    "<data_root>/curated/<benchmark>/templates.txt, one per line with {}.",
)
def curated_prompts(context) -> dg.DataVersionsByPartition:
    return _observe(PROMPT_TEMPLATES, context.resources.unibind)


SOURCE_OF = {DESCRIPTION_OVERRIDES.name: curated_descriptions.key, PROMPT_TEMPLATES.name: curated_prompts.key}


def changed_inputs(layout: Layout, seen: dict[str, str]) -> tuple[list[dg.AssetObservation], dict[str, str]]:
    """Observations of the curated files whose hash differs from `seen` ({"<input>/<bench>": version}),
    and the new `seen`. A file never written and never seen is not reported: no rerun for nothing."""
    events, now = [], dict(seen)
    for what in CURATED_INPUTS:
        for bench in BENCHMARKS:
            key, version = f"{what.name}/{bench}", what.version(layout, bench)
            if seen.get(key, ABSENT) == version:
                continue
            now[key] = version
            events.append(
                dg.AssetObservation(
                    SOURCE_OF[what.name],
                    partition=bench,
                    tags={"dagster/data_version": version},
                    metadata={"version": version},
                )
            )
    return events, now


@dg.sensor(
    name="curated_inputs",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Watches <data_root>/curated/<benchmark>/ (descriptions.csv|parquet, templates.txt) and "
    "records a new data version when a file changes; with unibind_automation on, that re-runs "
    "the benchmark's knowledge base (or text embeddings) and what depends on them. Launches no "
    "run itself.",
)
def curated_inputs_sensor(context: dg.SensorEvaluationContext, unibind: UnibindResource) -> dg.SensorResult:
    seen = json.loads(context.cursor) if context.cursor else {}
    events, now = changed_inputs(unibind.settings().layout, seen)
    return dg.SensorResult(asset_events=events, cursor=json.dumps(now, sort_keys=True))
