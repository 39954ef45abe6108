import pyarrow as pa
import pytest

from unibind_core.evaluation.results import balance_table, to_markdown, wide_table, write_catalogue
from unibind_core.storage.tables import EVAL_SCHEMA


def _evals():
    rows = []
    for bench, modality, zs, ft in (("a", "image", 0.9, 0.95), ("b", "audio", 0.45, 0.9)):
        for setting, acc in (("zero-shot", zs), ("fine-tuned", ft)):
            for clf in ("templates", "centres"):
                rows.append(
                    dict(
                        benchmark=bench,
                        modality=modality,
                        setting=setting,
                        classifier=clf,
                        accuracy=acc,
                        n=10,
                        split="test",
                        prompt_set="p",
                    )
                )
    return pa.Table.from_pylist(rows, schema=EVAL_SCHEMA)


def test_balance_is_min_over_max_across_modalities():
    bal = {(r["setting"], r["classifier"]): r for r in balance_table(_evals()).to_pylist()}
    assert bal[("zero-shot", "centres")]["balance"] == pytest.approx(0.5)
    assert bal[("fine-tuned", "templates")]["balance"] == pytest.approx(0.9 / 0.95)


def test_wide_table_has_one_row_per_benchmark_and_renders(tmp_path):
    wide = wide_table(_evals())
    assert wide.num_rows == 2 and wide.column("zs_centres").to_pylist() == [0.45, 0.9]
    assert "| b | audio | 0.450 |" in to_markdown(wide)


def test_catalogue_views_read_parquet(tmp_path):
    import duckdb
    import pyarrow.parquet as pq

    pq.write_table(_evals(), tmp_path / "e.parquet")
    write_catalogue(tmp_path / "c.duckdb", {"evaluations": str(tmp_path / "*.parquet")})
    con = duckdb.connect(str(tmp_path / "c.duckdb"), read_only=True)
    assert con.execute("select count(*) from evaluations").fetchone()[0] == 8


def test_catalogue_paths_with_quotes_are_quoted_not_pasted(tmp_path):
    import duckdb
    import pyarrow.parquet as pq

    odd = tmp_path / "it's here"
    odd.mkdir()
    pq.write_table(_evals(), odd / "e.parquet")
    write_catalogue(odd / "c.duckdb", {"evaluations": str(odd / "*.parquet")})
    con = duckdb.connect(str(odd / "c.duckdb"), read_only=True)
    assert con.execute("select count(*) from evaluations").fetchone()[0] == 8


# --- beside the paper ---


def _paper_evals(bench="esc50", modality="audio"):
    rows = [
        dict(
            benchmark=bench,
            modality=modality,
            setting=st,
            classifier=clf,
            accuracy=acc,
            n=400,
            split="test",
            prompt_set="p",
        )
        for st, clf, acc in (
            ("zero-shot", "templates", 0.60),
            ("zero-shot", "centres", 0.75),
            ("zero-shot", "single_template", 0.5),
            ("fine-tuned", "templates", 0.8),
            ("fine-tuned", "centres", 0.85),
        )
    ]
    return pa.Table.from_pylist(rows, schema=EVAL_SCHEMA)


def _retrieval(q="caltech101", g="ncaltech101", recall20=0.5):
    from unibind_core.storage.tables import RETRIEVAL_SCHEMA

    rows = [
        dict(
            query_benchmark=a,
            gallery_benchmark=b,
            query_modality=am,
            gallery_modality=bm,
            setting=st,
            metric=f"recall@{k}",
            k=k,
            recall=recall20 if k == 20 else recall20 / 2,
            n_queries=10,
            n_gallery=10,
            n_pairs=10,
            split="test",
            pairing="p",
            metric_definition="d",
        )
        for a, b, am, bm in ((q, g, "image", "event"), (g, q, "event", "image"))
        for st in ("zero-shot", "fine-tuned")
        for k in (1, 5, 10, 20)
    ]
    return pa.Table.from_pylist(rows, schema=RETRIEVAL_SCHEMA)


def test_the_paper_numbers_shipped_are_the_ones_docs_method_md_reports():
    """Parse the table of docs/method.md §7 and check every cell against the shipped TSV."""
    from pathlib import Path

    from unibind_core.evaluation.results import paper_results

    lines = (Path(__file__).resolve().parents[3] / "docs" / "method.md").read_text().splitlines()
    start = lines.index("## 7. Paper numbers to compare against")
    table = [ln for ln in lines[start:] if ln.startswith("|")][:6]
    header = [c.strip() for c in table[0].strip("|").split("|")][1:]
    shipped = {(r["paper_label"], r["paper_row"]): r["value"] for r in paper_results().to_pylist()}
    cells = 0
    for line in table[2:]:
        row, *values = [c.strip() for c in line.strip("|").split("|")]
        for label, value in zip(header, values):
            if value == "–":
                assert (label, row) not in shipped
            else:
                assert shipped[(label, row)] == float(value), (label, row)
                cells += 1
    assert cells == 46 and len(shipped) == 46 + 4  # + retrieval R@20 both ways, before and after LCL


def test_comparison_puts_ours_beside_the_paper_with_the_difference():
    from unibind_core.evaluation.results import NO_COUNTERPART, comparison_table, paper_results, to_csv

    benches = ["esc50", "caltech101", "ncaltech101"]
    evals = pa.concat_tables([_paper_evals(), _paper_evals("caltech101", "image")])
    table = comparison_table(evals, _retrieval(), paper_results(), benches)
    rows = {(r["benchmark"], r["setting"], r["classifier"], r["metric"]): r for r in table.to_pylist()}
    zs = rows[("esc50", "zero-shot", "centres", "acc@1")]
    assert (zs["ours"], zs["paper"], zs["paper_row"]) == (pytest.approx(75.0), 71.70, "zero-shot UniBind")
    assert zs["difference"] == pytest.approx(75.0 - 71.70)
    assert ("esc50", "zero-shot", "single_template", "acc@1") not in rows  # the paper has no such row
    r20 = rows[("ncaltech101->caltech101", "fine-tuned", None, "recall@20")]
    assert (r20["ours"], r20["paper"], r20["difference"]) == (pytest.approx(50.0), 55.66, pytest.approx(50 - 55.66))
    assert rows[("caltech101->ncaltech101", "zero-shot", None, "recall@1")]["paper"] is None  # only R@20 reported
    # the paper's N-Caltech101 recognition rows stay, unscored; the paper's other benchmarks are left out
    assert rows[("ncaltech101", "zero-shot", "templates", "acc@1")]["ours"] is None
    assert rows[("caltech101", "zero-shot", "centres", "acc@1")]["paper"] is None  # no recognition number in the paper
    assert not any(b == "imagenet1k" for b, *_ in rows)
    assert all(r["note"] != NO_COUNTERPART for r in rows.values())
    header = to_csv(table).decode().splitlines()[0]
    assert header.replace('"', "").split(",") == [
        "benchmark",
        "modality",
        "task",
        "paper_row",
        "setting",
        "classifier",
        "metric",
        "ours",
        "paper",
        "difference",
        "note",
    ]


def test_the_demo_comparison_says_it_has_no_paper_counterpart():
    from unibind_core.evaluation.results import NO_COUNTERPART, comparison_markdown, comparison_table, paper_results

    table = comparison_table(
        _paper_evals("demo_audio"),
        _retrieval("demo_image", "demo_event"),
        paper_results(),
        ["demo_audio", "demo_image", "demo_event"],
    )
    assert table.num_rows == 4 + 2 * 2 * 4  # 4 paper rows of ours + every retrieval row
    assert set(table["note"].to_pylist()) == {NO_COUNTERPART}
    assert table["paper"].null_count == table["paper_row"].null_count == table.num_rows
    md = comparison_markdown(table, {"code": {"commit": "abc"}})
    assert NO_COUNTERPART in md and '"commit": "abc"' in md


def test_the_paper_comparison_takes_retrieval_from_the_fixed_split_only():
    from unibind_core.evaluation.results import comparison_table, paper_results, retrieval_summary

    fixed = _retrieval(recall20=0.5)
    folds = fixed.to_pylist()
    for r in folds:
        r.update(protocol="cross-validation", fold=None, split="mean over folds 1,2", recall=0.9)
    both = pa.concat_tables([fixed, pa.Table.from_pylist(folds, schema=fixed.schema)])
    benches = ["caltech101", "ncaltech101"]
    rows = [
        r
        for r in comparison_table(_paper_evals("caltech101"), both, paper_results(), benches).to_pylist()
        if r["task"] == "retrieval" and r["metric"] == "recall@20"
    ]
    assert rows and {r["ours"] for r in rows} == {50.0}  # the folds' 90 % is not the paper's protocol
    summary = retrieval_summary(both).to_pylist()
    assert {(r["protocol"], r["split"]) for r in summary} == {
        ("fixed", "test"),
        ("cross-validation", "mean over folds 1,2"),
    }


def test_previews_inline_each_png_so_its_bytes_come_back(tmp_path):
    import base64
    import re

    from unibind_core.evaluation.plots import inline_png, previews

    a, b = tmp_path / "a.png", tmp_path / "b.png"
    a.write_bytes(b"\x89PNG\r\n\x1a\nfirst"), b.write_bytes(b"\x89PNG\r\n\x1a\nsecond")
    one = inline_png("results", a)
    assert one.startswith("![results](data:image/png;base64,")
    both = previews({"map": a, "curves": b})
    assert both.startswith("**map**\n\n![map](") and f"**curves**\n\n{inline_png('curves', b)}" in both
    assert [base64.b64decode(m) for m in re.findall(r"base64,([^)]*)\)", both)] == [a.read_bytes(), b.read_bytes()]


def test_the_aligner_table_puts_the_three_aligners_side_by_side_with_the_spread_over_folds():
    from unibind_core.evaluation.results import aligner_comparison, aligner_markdown

    rows = [
        dict(
            benchmark="b",
            modality="audio",
            setting="zero-shot",
            classifier="centres",
            accuracy=0.5,
            n=10,
            protocol="fixed",
        )
    ]
    rows += [
        dict(
            benchmark="b",
            modality="audio",
            setting="fine-tuned",
            classifier="centres",
            accuracy=acc,
            n=10,
            protocol="fixed",
            aligner=a,
        )
        for a, acc in (("lcl", 0.7), ("centrobind", 0.6), ("exmcr", 0.55))
    ]
    rows += [
        dict(
            benchmark="b",
            modality="audio",
            setting="fine-tuned",
            classifier="centres",
            accuracy=acc,
            n=10,
            protocol="cross-validation",
            aligner="lcl",
            fold=f,
        )
        for f, acc in ((1, 0.6), (2, 0.8))
    ]
    table = aligner_comparison(pa.Table.from_pylist(rows, schema=EVAL_SCHEMA))
    by = {(r["protocol"], r["aligner"]): r for r in table.to_pylist()}
    assert set(by) == {("fixed", a) for a in ("none", "lcl", "centrobind", "exmcr")} | {("cross-validation", "lcl")}
    cv = by[("cross-validation", "lcl")]
    assert (cv["accuracy"], cv["accuracy_std"], cv["runs"]) == (pytest.approx(0.7), pytest.approx(0.1), 2)
    md = aligner_markdown(table).splitlines()
    assert md[0] == "| benchmark | protocol | none | centrobind | exmcr | lcl |"
    assert md[2] == "| b | fixed | 0.500 | 0.600 | 0.550 | 0.700 |"
    assert md[3] == "| b | cross-validation | – | – | – | 0.700 ± 0.100 |"


def test_the_paper_profiles_csv_holds_every_number_of_the_paper_beside_an_empty_ours():
    """Every (benchmark, paper row) of the shipped paper table is a CSV row with the paper's value, even when
    nothing was scored: the CSV is the paper's table with our column beside it."""
    import csv
    import io

    from unibind_core.data.benchmarks.spec import profile_benchmarks
    from unibind_core.evaluation.results import comparison_table, paper_results, to_csv
    from unibind_core.storage.tables import RETRIEVAL_SCHEMA

    paper = paper_results().to_pylist()
    empty = pa.Table.from_pylist([], schema=EVAL_SCHEMA)
    table = comparison_table(
        empty, pa.Table.from_pylist([], schema=RETRIEVAL_SCHEMA), paper_results(), list(profile_benchmarks("paper"))
    )
    rows = list(csv.DictReader(io.StringIO(to_csv(table).decode())))
    got = {(r["benchmark"], r["paper_row"]): float(r["paper"]) for r in rows}
    assert len(rows) == len(paper) and got == {(p["benchmark"], p["paper_row"]): p["value"] for p in paper}
    assert all(r["ours"] == "" and r["note"] == "not scored in this run" for r in rows)
