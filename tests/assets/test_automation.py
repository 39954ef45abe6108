"""Reruns when the knowledge base changes (DAGSTER.md): only real data changes propagate, and only the
texts that changed are embedded again."""
from __future__ import annotations

import dagster as dg
import pyarrow.parquet as pq
import pytest

from pipelines.definitions import ALL_ASSETS
from unibind_core.describe import DESCRIBERS, Description, TemplateDescriber

BENCH = "demo_audio"
EDITED_CLASS_INDEX = 3


class OneCategoryEdited(TemplateDescriber):
    """The template describer with one category's descriptions rewritten (a user's hand edit)."""

    source = "template"

    def describe(self, category, noun, n):
        out = super().describe(category, noun, n)
        if category.index != EDITED_CLASS_INDEX:
            return out
        return [Description(d.text[:-1] + ", as edited by a curator.", d.prompt) for d in out]


def _requested(result) -> set[tuple[str, str | None]]:
    keys = set()
    for key in result.get_requested_asset_keys() if hasattr(result, "get_requested_asset_keys") else []:
        keys.add((key.to_user_string(), None))
    return keys


def _requested_partitions(result, asset: str) -> set:
    subsets = [r for r in result.results if r.key == dg.AssetKey(asset)]
    if not subsets or subsets[0].true_subset.size == 0:
        return set()
    return set(subsets[0].true_subset.expensively_compute_partition_keys() or {None})


def _run(resource, instance, selection, describer_resource=None):
    dg.materialize(ALL_ASSETS, selection=selection, partition_key=BENCH, instance=instance,
                   resources={"unibind": describer_resource or resource})


@pytest.fixture
def describer_registered():
    DESCRIBERS.register("one_category_edited", OneCategoryEdited)
    yield "one_category_edited"


def test_kb_change_reruns_only_what_depends_on_it(materialized, defs_small, describer_registered):
    instance, resource, _ = materialized
    downstream = ("knowledge_base", "kb_text_embeddings", "embedding_centres", "aligned_heads",
                  "benchmark_evaluation", "results_table")
    first = dg.evaluate_automation_conditions(defs=defs_small, instance=instance)
    cursor = first.cursor

    # 1. Same descriptions again: a new materialization with an identical data version triggers nothing.
    _run(resource, instance, ["category_descriptions"])
    same = dg.evaluate_automation_conditions(defs=defs_small, instance=instance, cursor=cursor)
    assert same.total_requested == 0
    cursor = same.cursor

    # 2. One category edited: exactly this partition's knowledge base is requested.
    edited = resource.model_copy(update={"describer": describer_registered})
    _run(resource, instance, ["category_descriptions"], edited)
    step = dg.evaluate_automation_conditions(defs=defs_small, instance=instance, cursor=cursor)
    assert _requested_partitions(step, "knowledge_base") == {BENCH}
    assert step.total_requested == 1

    # 3. Walk the chain the automation sensor would run; only edited texts reach the encoder.
    n_per_class = resource.descriptions_per_category
    for asset in downstream:
        cursor = step.cursor
        partition = None if asset == "results_table" else BENCH
        assert _requested_partitions(step, asset) == {partition}, asset
        result = dg.materialize(ALL_ASSETS, selection=[asset], partition_key=partition, instance=instance,
                                resources={"unibind": resource})
        if asset == "kb_text_embeddings":
            meta = result.asset_materializations_for_node(asset)[0].metadata
            assert meta["embedded_new"].value == n_per_class
        step = dg.evaluate_automation_conditions(defs=defs_small, instance=instance, cursor=cursor)
    assert step.total_requested == 0

    kb = pq.read_table(resource.settings().layout.kb(BENCH))
    assert sum("as edited by a curator" in t for t in kb["Description"].to_pylist()) == n_per_class
