"""Curated inputs drive reruns (docs/architecture.md, Curated inputs): a curator edits a file, the sensor
records its new hash as the source's data version, and automation re-runs exactly what depends on it."""

from __future__ import annotations

import dagster as dg
import pyarrow.compute as pc
import pytest
from automation_testing import all_requested, drain

from assets.curated import curated_inputs_sensor
from pipelines.definitions import ALL_ASSETS
from unibind_core.storage.tables import KNOWLEDGE_BASE

pytestmark = pytest.mark.slow  # re-runs of a demo chain: ~15 s on 2 cores

BENCH = "demo_image"  # test_automation edits demo_audio; this test owns demo_image
KB_CHAIN = (
    "knowledge_base",
    "kb_text_embeddings",
    "embedding_centres",
    "aligned_heads",
    "benchmark_evaluation",
    "retrieval_evaluation",
    "results_table",
)


def _tick(instance, resource, cursor):
    """One sensor evaluation, its observations stored as the daemon stores them; -> (events, cursor)."""
    ctx = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"unibind": resource})
    result = curated_inputs_sensor(ctx)
    for event in result.asset_events:
        instance.report_runless_asset_event(event)
    return result.asset_events, result.cursor


def _version(instance, asset: str) -> str:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[BENCH]), limit=1
    ).records
    return records[0].asset_materialization.tags["dagster/data_version"]


def test_curated_edits_rerun_only_the_touched_chain(materialized, defs_small):
    instance, resource, _ = materialized
    layout = resource.settings().layout
    kb_version_before = _version(instance, "knowledge_base")
    text_version_before = _version(instance, "kb_text_embeddings")
    step = dg.evaluate_automation_conditions(defs=defs_small, instance=instance)

    # Nothing curated yet: the sensor reports nothing, automation requests nothing.
    events, cursor = _tick(instance, resource, None)
    assert events == []
    step = dg.evaluate_automation_conditions(defs=defs_small, instance=instance, cursor=step.cursor)
    assert not all_requested(step)

    # 1. The curator writes an overrides table: two descriptions replaced, one added, one removed.
    kb = KNOWLEDGE_BASE.read(layout.kb(BENCH))
    cat_rows = kb.filter(pc.starts_with(kb["ID"], "cat:")).to_pylist()
    a, b, gone = cat_rows[0], cat_rows[1], cat_rows[2]
    folder = layout.curated(BENCH)
    folder.mkdir(parents=True)
    (folder / "descriptions.csv").write_text(
        "ID,Category,Description,Source\n"
        f'{a["ID"]},{a["Category"]},"a hand-drawn numeral, thick strokes.",me\n'
        f"{b['ID']},{b['Category']},a curator's description of the digit.,\n"
        f"cat:{a['Category']}:curated-1,{a['Category']},a brand-new curated description.,me\n"
        f"{gone['ID']},{gone['Category']},,\n"
    )
    events, cursor = _tick(instance, resource, cursor)
    assert [(e.asset_key.to_user_string(), e.partition) for e in events] == [("curated_descriptions", BENCH)]
    assert _tick(instance, resource, cursor)[0] == []  # unchanged file: no second observation

    step = dg.evaluate_automation_conditions(defs=defs_small, instance=instance, cursor=step.cursor)
    requested = all_requested(step)
    assert requested["knowledge_base"] == {BENCH}
    assert set().union(*requested.values()) <= {BENCH, None}, requested  # no other benchmark re-runs
    ran, metadata, step = drain(step, defs_small, instance, resource, KB_CHAIN)
    assert ran[:2] == ["knowledge_base", "kb_text_embeddings"]
    assert metadata["knowledge_base"]["overrides_replace"].value == 2
    assert metadata["knowledge_base"]["overrides_add"].value == 1
    assert metadata["knowledge_base"]["overrides_remove"].value == 1
    assert metadata["kb_text_embeddings"]["embedded_new"].value == 3  # only the three new texts
    texts = dict(zip(*KNOWLEDGE_BASE.read(layout.kb(BENCH), ["ID", "Description"]).to_pydict().values()))
    assert texts[a["ID"]] == "a hand-drawn numeral, thick strokes." and gone["ID"] not in texts

    # 2. A prompt file: only the text embeddings (and what reads them) re-run, not the knowledge base.
    (folder / "templates.txt").write_text("a drawing of the number {}.\na scan of a handwritten {}.\n")
    events, cursor = _tick(instance, resource, cursor)
    assert [(e.asset_key.to_user_string(), e.partition) for e in events] == [("curated_prompts", BENCH)]
    step = dg.evaluate_automation_conditions(defs=defs_small, instance=instance, cursor=step.cursor)
    requested = all_requested(step)
    assert "knowledge_base" not in requested and requested["kb_text_embeddings"] == {BENCH}
    ran, metadata, step = drain(step, defs_small, instance, resource, KB_CHAIN)
    n_classes = 10
    assert metadata["kb_text_embeddings"]["embedded_new"].value == 2 * n_classes

    # 3. A bad edit fails the knowledge base with a line naming the problem; the stored table is kept.
    # (On a throwaway instance: the failed step's planned check must not linger in the shared one.)
    before = layout.kb(BENCH).read_bytes()
    (folder / "descriptions.csv").write_text("ID,Category,Description\ncat:zz:1,zz,a digit.\n")
    with (
        dg.DagsterInstance.ephemeral() as scratch,
        pytest.raises(dg.Failure, match=r"line 2 \(ID 'cat:zz:1'\): Category 'zz'"),
    ):
        dg.materialize(
            ALL_ASSETS,
            selection=["knowledge_base"],
            partition_key=BENCH,
            instance=scratch,
            resources={"unibind": resource},
        )
    assert layout.kb(BENCH).read_bytes() == before

    # 4. The curator deletes both files: the sensor reports them absent, and the chain returns to exactly
    # the generated knowledge base (same data version as before any curation).
    (folder / "descriptions.csv").unlink()
    (folder / "templates.txt").unlink()
    events, cursor = _tick(instance, resource, cursor)
    assert sorted(e.asset_key.to_user_string() for e in events) == ["curated_descriptions", "curated_prompts"]
    step = dg.evaluate_automation_conditions(defs=defs_small, instance=instance, cursor=step.cursor)
    drain(step, defs_small, instance, resource, KB_CHAIN)
    assert _version(instance, "knowledge_base") == kb_version_before
    assert _version(instance, "kb_text_embeddings") == text_version_before
