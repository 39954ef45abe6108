"""The whole demo through Dagster: every asset, every partition, checks passing, numbers that mean something."""

from __future__ import annotations

import os

import dagster as dg
import duckdb
import pyarrow.parquet as pq

from pipelines.definitions import defs
from pipelines.run_all import PID_TAG
from unibind_core.data.benchmarks.spec import profile_benchmarks

BENCHES = profile_benchmarks("demo")


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)


def test_every_asset_and_partition_is_materialized(materialized):
    instance, _, _ = materialized
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:  # curated inputs: observed, only once a curator writes a file
            continue
        if node.is_partitioned:
            done = instance.get_materialized_partitions(key)
            assert done == set(BENCHES), key
        else:
            assert instance.get_latest_materialization_event(key) is not None, key


def test_blocking_checks_passed(materialized):
    instance, _, _ = materialized
    for name in ("kb_valid", "centres_valid"):
        asset = "knowledge_base" if name == "kb_valid" else "embedding_centres"
        records = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey(asset), name), limit=20
        )
        assert len(records) >= len(BENCHES)
        assert all(r.status.value == "SUCCEEDED" for r in records), [r.status for r in records]


def test_results_table_and_catalogue(materialized):
    _, resource, _ = materialized
    lay = resource.settings().layout
    wide = pq.read_table(lay.results_dir / "results.parquet").to_pylist()
    assert {r["benchmark"] for r in wide} == set(BENCHES)
    for r in wide:
        # Chance is 10 %: every modality must be far above it after image-centric pre-training.
        assert r["zs_templates"] > 0.3 and r["zs_centres"] > 0.3 and r["ft_centres"] > 0.3, r
    con = duckdb.connect(str(lay.catalogue), read_only=True)
    n_kb = con.execute("SELECT count(*) FROM kb").fetchone()[0]
    assert n_kb > 0
    assert con.execute("SELECT count(DISTINCT benchmark) FROM results").fetchone()[0] == len(BENCHES)
    assert (lay.results_dir / "results.png").stat().st_size > 1000


def test_the_three_aligners_side_by_side_on_every_benchmark_each_lowering_its_loss(materialized):
    """One table compares lcl, centrobind and exmcr (and zero-shot) on every demo benchmark, the fold runs
    of the ESC-50-format audio as mean ± std; each aligner's training loss fell on the demo's features, and
    CentroBind's image and event heads had each sample's partner in their anchor."""
    _, resource, _ = materialized
    lay = resource.settings().layout
    table = pq.read_table(lay.results_dir / "aligner_comparison.parquet").to_pylist()
    aligners = {"none", "lcl", "centrobind", "exmcr"}
    for bench in BENCHES:
        assert {r["aligner"] for r in table if r["benchmark"] == bench and r["protocol"] == "fixed"} == aligners
        history = pq.read_table(lay.head_history(bench)).to_pylist()
        for name in aligners - {"none"}:
            losses = [r["loss"] for r in history if r["aligner"] == name and r["fold"] is None and r["step"]]
            assert losses[-1] < losses[0], (bench, name, losses)
    folds = [r for r in table if r["protocol"] == "cross-validation"]
    assert {(r["benchmark"], r["runs"]) for r in folds} == {("demo_audio", 5)}
    assert "Aligners side by side" in (lay.results_dir / "results.md").read_text()
    from unibind_core.method.aligners.store import metadata

    for bench, partner in (("demo_image", "demo_event"), ("demo_event", "demo_image")):
        head = metadata(lay.head(bench).with_name(f"{bench}.centrobind.safetensors"))
        assert head["partners"] == partner and int(head["samples_with_partner"]) > 0, head


def test_knowledge_base_has_the_paper_keys_and_provenance(materialized):
    _, resource, _ = materialized
    kb = pq.read_table(resource.settings().layout.kb("demo_audio"))
    assert kb.column_names[:4] == ["ID", "Category", "Description", "Source"]
    sources = set(kb["Source"].to_pylist())
    assert sources == {"template", "manifest"}
    described = [t for i, t in zip(kb["ID"].to_pylist(), kb["Description"].to_pylist()) if i.startswith("cat:")]
    assert sum("sound" in t for t in described) > len(described) / 2  # modality-aware wording


def _data_version(instance, asset: str, partition: str) -> str:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition]), limit=1
    ).records
    return records[0].asset_materialization.tags["dagster/data_version"]


def test_rerun_with_nothing_changed_reuses_everything_expensive(materialized):
    instance, resource, _ = materialized
    from pipelines.run_all import materialize_all

    bench = BENCHES[0]
    before = {a: _data_version(instance, a, bench) for a in ("data_embeddings", "aligned_heads", "knowledge_base")}
    materialize_all(resource, instance, [bench], log=lambda _: None)
    for asset in ("demo_backbone", "data_embeddings", "kb_text_embeddings", "aligned_heads"):
        mat = instance.get_latest_materialization_event(dg.AssetKey(asset)).asset_materialization
        assert mat.metadata["reused_previous_output"].value is True, asset
    assert before == {a: _data_version(instance, a, bench) for a in before}


def test_progress_reaches_the_run_log(materialized):
    """Per-epoch loss and eval accuracy of head training, and the text tower's batches, as run-log lines."""
    instance, resource, _ = materialized
    messages = []
    for run in instance.get_runs(dg.RunsFilter(tags={PID_TAG: str(os.getpid())})):  # the demo's own runs
        messages += [e.user_message for e in instance.all_logs(run.run_id) if e.dagster_event is None]
    epochs = resource.head_epochs
    for bench in BENCHES:
        lines = [m for m in messages if m.startswith(f"fine-tune {bench}: ")]
        assert len(lines) == epochs, (bench, lines)
        assert lines[-1].startswith(f"fine-tune {bench}: {epochs}/{epochs} epoch (100%)")
        assert "loss=" in lines[-1] and "eval_accuracy=" in lines[-1]
    assert any(m.startswith("embed texts: ") for m in messages)
    assert any(m.startswith("pretrain image: ") for m in messages)


def test_retrieval_and_the_results_beside_the_paper(materialized):
    _, resource, _ = materialized
    lay = resource.settings().layout
    rows = pq.read_table(lay.retrieval).to_pylist()
    assert {(r["query_benchmark"], r["gallery_benchmark"]) for r in rows} == {
        ("demo_image", "demo_event"),
        ("demo_event", "demo_image"),
    }
    for r in rows:
        assert r["n_queries"] > 0 and r["n_pairs"] >= r["n_queries"]
        if r["k"] == 20:  # one positive per query: chance is k / gallery size
            assert r["recall"] > 20 / r["n_gallery"], r
    import csv

    with open(lay.results_dir / "paper_comparison.csv") as f:
        table = list(csv.DictReader(f))
    assert {"benchmark", "ours", "paper", "difference", "paper_row"} <= set(table[0])
    assert {r["benchmark"] for r in table} >= set(BENCHES) and all(r["paper"] == "" for r in table)
    md = (lay.results_dir / "paper_comparison.md").read_text()
    assert "no paper counterpart" in md and '"commit"' in md and '"weights_hash"' in md
    evals = pq.read_table(lay.results_dir / "evaluations.parquet").to_pylist()
    assert all(r["acc5"] >= r["accuracy"] and 0 <= r["mean_per_class_recall"] <= 1 for r in evals)
