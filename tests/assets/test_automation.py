"""Reruns when the knowledge base changes (docs/architecture.md, Automation): only real data changes propagate,
and only the texts that changed are embedded again."""

from __future__ import annotations

import dagster as dg
import pyarrow.parquet as pq
import pytest
from automation_testing import all_requested, drain

from pipelines.definitions import ALL_ASSETS
from unibind_core.knowledge.describe import DESCRIBERS, Description, TemplateDescriber

pytestmark = pytest.mark.slow  # its own demo world and the sensor's ticks: ~80 s on 2 cores

BENCH = "demo_audio"
DOWNSTREAM = (
    "knowledge_base",
    "kb_text_embeddings",
    "embedding_centres",
    "aligned_heads",
    "benchmark_evaluation",
    "retrieval_evaluation",
    "results_table",
)
EDITED_CLASS_INDEX = 3


class OneCategoryEdited(TemplateDescriber):
    """The template describer with one category's descriptions rewritten (a user's hand edit)."""

    source = "template"

    def describe(self, category, noun, n):
        out = super().describe(category, noun, n)
        if category.index != EDITED_CLASS_INDEX:
            return out
        return [Description(d.text[:-1] + ", as edited by a curator.", d.prompt) for d in out]


def _run(resource, instance, selection, describer_resource=None):
    dg.materialize(
        ALL_ASSETS,
        selection=selection,
        partition_key=BENCH,
        instance=instance,
        resources={"unibind": describer_resource or resource},
    )


@pytest.fixture
def describer_registered():
    DESCRIBERS.register("one_category_edited", OneCategoryEdited)
    yield "one_category_edited"


def test_kb_change_reruns_only_what_depends_on_it(materialized, defs_small, describer_registered):
    instance, resource, _ = materialized
    layout = resource.settings().layout
    eval_before = pq.read_table(layout.evaluation(BENCH))
    first = dg.evaluate_automation_conditions(defs=defs_small, instance=instance)
    cursor = first.cursor

    # 1. Same descriptions again: a new materialization with an identical data version triggers nothing.
    _run(resource, instance, ["category_descriptions"])
    same = dg.evaluate_automation_conditions(defs=defs_small, instance=instance, cursor=cursor)
    assert same.total_requested == 0
    cursor = same.cursor

    # 2. One category edited: the knowledge base of this partition, and the chain below it, is requested.
    edited = type(resource)(**{**resource.model_dump(), "describer": describer_registered})
    _run(resource, instance, ["category_descriptions"], edited)
    step = dg.evaluate_automation_conditions(defs=defs_small, instance=instance, cursor=cursor)
    requested = all_requested(step)
    assert requested["knowledge_base"] == {BENCH}
    assert set().union(*requested.values()) <= {BENCH, None}, requested  # no other benchmark re-runs
    assert set(requested) <= set(DOWNSTREAM)

    # 3. Run what the automation sensor would launch, tick after tick, until nothing is requested;
    # only the edited category's texts reach the encoder.
    ran, metadata, _ = drain(step, defs_small, instance, resource, DOWNSTREAM)
    assert metadata["kb_text_embeddings"]["embedded_new"].value == resource.descriptions_per_category
    # results_table re-runs only if the evaluation's numbers (its data version) really changed; retrieval
    # (image <-> event) reads every head, so it re-runs, and with unchanged recall triggers nothing.
    eval_changed = not pq.read_table(layout.evaluation(BENCH)).equals(eval_before)
    assert ran == [a for a in DOWNSTREAM if a != "results_table" or eval_changed]

    kb = pq.read_table(resource.settings().layout.kb(BENCH))
    assert (
        sum("as edited by a curator" in t for t in kb["Description"].to_pylist()) == resource.descriptions_per_category
    )


def test_a_partner_benchmarks_new_features_request_the_heads_that_read_them():
    """aligned_heads[demo_event] reads demo_image's features (CentroBind's paired member) through a
    StaticPartitionMapping: Dagster's own automation requests both heads when demo_image's features change,
    and nothing of the unpaired benchmarks. Every asset is reported materialized (runless), nothing runs."""
    from assets.partitions import BENCHMARKS
    from pipelines.definitions import defs

    instance = dg.DagsterInstance.ephemeral()
    graph = defs.resolve_asset_graph()

    def report(key: dg.AssetKey, partition: str | None, version: str) -> None:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=key, partition=partition, tags={"dagster/data_version": version})
        )

    for key in graph.toposorted_asset_keys:
        node = graph.get(key)
        partitions = BENCHMARKS if node.is_partitioned else (None,)
        for partition in partitions if node.is_materializable else ():
            report(key, partition, "v1")
            for check in node.check_keys:
                instance.report_runless_asset_event(
                    dg.AssetCheckEvaluation(asset_key=key, check_name=check.name, passed=True, partition=partition)
                )
    settled = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    settled = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=settled.cursor)
    assert settled.total_requested == 0
    report(dg.AssetKey("data_embeddings"), "demo_image", "v2")
    requested = all_requested(dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=settled.cursor))
    assert requested["aligned_heads"] == {"demo_image", "demo_event"}
    assert requested["embedding_centres"] == {"demo_image"}  # centres read their own features only
    instance.dispose()


def test_a_head_trained_before_its_partner_had_features_is_requested_when_they_appear():
    """Any partition order (docs/architecture.md, "Partitions that read each other"): demo_event's head trained
    while demo_image had no features (the README loop reached it first). When demo_image's features are written,
    automation requests that head again, so it retrains with the partner member. Runless, nothing runs."""
    from assets.partitions import BENCHMARKS
    from pipelines.definitions import defs

    instance = dg.DagsterInstance.ephemeral()
    graph = defs.resolve_asset_graph()
    later = {"data_embeddings", "embedding_centres", "aligned_heads", "benchmark_evaluation"}  # of demo_image

    def report(key: dg.AssetKey, partition: str | None) -> None:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=key, partition=partition, tags={"dagster/data_version": "v1"})
        )

    for key in graph.toposorted_asset_keys:
        node = graph.get(key)
        for partition in (BENCHMARKS if node.is_partitioned else (None,)) if node.is_materializable else ():
            if partition == "demo_image" and key.to_user_string() in later:
                continue
            report(key, partition)
            for check in node.check_keys:
                instance.report_runless_asset_event(
                    dg.AssetCheckEvaluation(asset_key=key, check_name=check.name, passed=True, partition=partition)
                )
    settled = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    settled = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=settled.cursor)
    assert "demo_event" not in all_requested(settled).get("aligned_heads", set())  # waits while the partner is missing
    report(dg.AssetKey("data_embeddings"), "demo_image")
    requested = all_requested(dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=settled.cursor))
    assert "demo_event" in requested["aligned_heads"] and "demo_event" in requested["benchmark_evaluation"]
    instance.dispose()
