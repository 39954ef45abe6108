"""The one code location: every asset and check, the resource, named jobs, a schedule, the sensor."""

from __future__ import annotations

import dagster as dg

from assets import curated, data, knowledge, model, search
from assets.partitions import BENCHMARKS, DEMO_PROFILE
from assets.resources import UnibindResource
from pipelines.executors import selected_executor

DEMO_ONLY = {data.demo_world.key, data.demo_backbone.key}
ALL_ASSETS = [
    a
    for a in dg.load_assets_from_modules([curated, data, knowledge, model, search])
    if DEMO_PROFILE or getattr(a, "key", None) not in DEMO_ONLY
]
GROUPS = ("data", "knowledge", "centres", "heads", "evaluation")  # the stage groups, in graph order

# One job per stage group and one for the whole graph, so runs have names in the UI (not the ephemeral
# `__ephemeral_asset_job__`). Each is partitioned by benchmark; a run targets one benchmark, and the
# group's unpartitioned assets (demo world, demo backbone, results table) run with it.
JOBS = [
    dg.define_asset_job(
        f"{group}_job",
        selection=dg.AssetSelection.groups(group),
        description=f"Materialize the {group} stage of one benchmark.",
    )
    for group in GROUPS
]
ALL_JOB = dg.define_asset_job(
    "unibind_all", selection=dg.AssetSelection.all(), description="Every asset of one benchmark, upstream first."
)
KNOWLEDGE_JOB = JOBS[GROUPS.index("knowledge")]


@dg.schedule(
    job=KNOWLEDGE_JOB,
    cron_schedule="0 3 * * 1",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Weekly (Monday 03:00) refresh of the knowledge base of every benchmark: descriptions, "
    "captions, table, text embeddings. Off by default: an LLM describer costs money. Unchanged "
    "answers come from the response cache, and unchanged data versions trigger nothing "
    "downstream.",
)
def refresh_knowledge_base(context: dg.ScheduleEvaluationContext):
    stamp = context.scheduled_execution_time.strftime("%Y-%m-%d")
    for bench in BENCHMARKS:
        yield dg.RunRequest(run_key=f"{bench}:{stamp}", partition_key=bench)


AUTOMATION = dg.AutomationConditionSensorDefinition(
    "unibind_automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Re-runs what depends on the knowledge base when, and only when, its data really changed "
    "(new data version) and the upstream blocking checks passed: edit one benchmark's knowledge "
    "base and only that benchmark's text embeddings, centres, head and evaluation re-run. Needs "
    "the daemon (dagster dev runs one). LLM generation itself is never started by it.",
)


def make_definitions(resource: UnibindResource | None = None, executor: str | None = None) -> dg.Definitions:
    """The code location; `executor` (else UNIBIND_EXECUTOR, else multiprocess) runs every job's steps."""
    return dg.Definitions(
        assets=ALL_ASSETS,
        jobs=[*JOBS, ALL_JOB],
        schedules=[refresh_knowledge_base],
        sensors=[AUTOMATION, curated.curated_inputs_sensor],
        resources={"unibind": resource or UnibindResource()},
        executor=selected_executor(executor),
    )


defs = make_definitions()
