"""The results table across benchmarks, a balance measure across modalities, the plot, and our numbers
beside the paper's (shipped as data: unibind_core/evaluation/paper/results.tsv)."""

from __future__ import annotations

import io
import json
from importlib import resources
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

from unibind_core.storage.io import atomic_path, file_lock
from unibind_core.storage.tables import (
    ALIGNER_COMPARISON,
    BALANCE,
    COMPARISON,
    PAPER_RESULTS,
    RESULTS,
    Classifier,
    Metric,
    Setting,
    SplitProtocol,
    Task,
)

# The headline columns of the results table: (column, setting, classifier, plot label).
HEADLINE = (
    ("zs_templates", Setting.ZERO_SHOT, Classifier.TEMPLATES, "zero-shot, CLIP templates"),
    ("zs_single", Setting.ZERO_SHOT, Classifier.SINGLE_TEMPLATE, "zero-shot, single template"),
    ("zs_centres", Setting.ZERO_SHOT, Classifier.CENTRES, "zero-shot, UniBind centres"),
    ("ft_centres", Setting.FINE_TUNED, Classifier.CENTRES, "fine-tuned, UniBind centres"),
)
PLOTTED = ("zs_templates", "zs_centres", "ft_centres")

# What of ours stands beside each of the paper's recognition rows: (setting, classifier, paper row, note).
PAPER_ROWS = (
    (Setting.ZERO_SHOT, Classifier.TEMPLATES, "zero-shot baseline", None),
    (Setting.ZERO_SHOT, Classifier.CENTRES, "zero-shot UniBind", None),
    (
        Setting.FINE_TUNED,
        Classifier.TEMPLATES,
        "fine-tune baseline",
        "ours: the LCL-trained head classified by CLIP templates; the paper's baseline is fine-tuned "
        "without the knowledge base",
    ),
    (Setting.FINE_TUNED, Classifier.CENTRES, "fine-tune UniBind", None),
)
RETRIEVAL_ROWS = {Setting.ZERO_SHOT: "PointBind(+Event)", Setting.FINE_TUNED: "with LCL"}
NO_COUNTERPART = "no paper counterpart (this profile's benchmarks are not the paper's)"


def headline_rows(evals: pa.Table, aligner: str) -> pa.Table:
    """The rows of the paper's protocol: the fixed split, zero-shot and the primary `aligner`'s head."""
    return (
        duckdb.sql(
            f"""
        SELECT * FROM evals WHERE coalesce(protocol, '{SplitProtocol.FIXED}') = '{SplitProtocol.FIXED}'
          AND (aligner IS NULL OR aligner = $aligner)""",
            params={"aligner": aligner},
        )
        .arrow()
        .read_all()
    )


def aligner_comparison(evals: pa.Table) -> pa.Table:
    """ALIGNER_COMPARISON_SCHEMA: per (benchmark, protocol, aligner, classifier) top-1 mean and population std
    over runs (folds for cross-validation, one run otherwise); zero-shot rows as aligner "none"."""
    table = (
        duckdb.sql("""
        SELECT benchmark, modality, coalesce(protocol, 'fixed') AS protocol, coalesce(aligner, 'none') AS aligner,
               classifier, avg(accuracy) AS accuracy, coalesce(stddev_pop(accuracy), 0) AS accuracy_std,
               avg(mean_per_class_recall) AS mean_per_class_recall, count(*) AS runs
        FROM evals GROUP BY ALL ORDER BY benchmark, protocol DESC, aligner, classifier""")
        .arrow()
        .read_all()
    )
    return ALIGNER_COMPARISON.conform(table)


def aligner_markdown(comparison: pa.Table, classifier: Classifier = Classifier.CENTRES) -> str:
    """One row per (benchmark, protocol), one column per aligner ("none" = zero-shot): top-1 (± std over folds)."""
    rows = [r for r in comparison.to_pylist() if r["classifier"] == classifier]
    aligners = sorted({r["aligner"] for r in rows}, key=lambda a: (a != "none", a))
    cells: dict[tuple[str, str], dict[str, str]] = {}
    for r in rows:
        spread = f" ± {r['accuracy_std']:.3f}" if r["runs"] > 1 else ""
        cells.setdefault((r["benchmark"], r["protocol"]), {})[r["aligner"]] = f"{r['accuracy']:.3f}{spread}"
    lines = ["| benchmark | protocol | " + " | ".join(aligners) + " |", "|" + "---|" * (len(aligners) + 2)]
    lines += [f"| {b} | {p} | " + " | ".join(c.get(a, "–") for a in aligners) + " |" for (b, p), c in cells.items()]
    return "\n".join(lines)


def wide_table(evals: pa.Table) -> pa.Table:
    """One row per benchmark (RESULTS_SCHEMA): zero-shot templates vs centres, fine-tuned with centres."""
    columns = ",\n".join(
        f"max(accuracy) FILTER (WHERE setting = '{setting}' AND classifier = '{clf}') AS {col}"
        for col, setting, clf, _ in HEADLINE
    )
    table = (
        duckdb.sql(f"""
        SELECT benchmark, modality, {columns}, max(n) AS n_test
        FROM evals GROUP BY benchmark, modality ORDER BY modality, benchmark""")
        .arrow()
        .read_all()
    )
    return RESULTS.conform(table)


def metrics_table(evals: pa.Table) -> pa.Table:
    """Every metric of every (benchmark, setting, classifier), for people (not persisted separately)."""
    return (
        duckdb.sql("""
        SELECT benchmark, setting, classifier, accuracy AS "acc@1", acc5 AS "acc@5", mean_per_class_recall, n
        FROM evals ORDER BY benchmark, setting DESC, classifier""")
        .arrow()
        .read_all()
    )


def retrieval_summary(retrieval: pa.Table) -> pa.Table:
    """One row per (direction, setting, protocol, split), recall@k across (for people): the fixed test split."""
    ks = sorted(set(retrieval["k"].to_pylist()))
    cols = ", ".join(f'max(recall) FILTER (WHERE k = {k}) AS "R@{k}"' for k in ks)
    return (
        duckdb.sql(f"""
        SELECT query_benchmark || ' -> ' || gallery_benchmark AS direction, setting,
               coalesce(protocol, 'fixed') AS protocol, split{", " + cols if cols else ""},
               max(n_queries) AS n_queries, max(n_gallery) AS n_gallery
        FROM retrieval GROUP BY ALL
        ORDER BY direction, setting DESC, protocol DESC, max(fold) NULLS LAST, split""")
        .arrow()
        .read_all()
    )


def balance_table(evals: pa.Table) -> pa.Table:
    """Per classifier across modalities (BALANCE_SCHEMA): balance = min / max accuracy (1 = balanced)."""
    table = (
        duckdb.sql("""
        WITH per_modality AS (
          SELECT setting, classifier, modality, avg(accuracy) AS acc FROM evals GROUP BY ALL)
        SELECT setting, classifier, avg(acc) AS mean_accuracy, min(acc) AS min_accuracy,
               coalesce(stddev_pop(acc), 0) AS std_accuracy, min(acc) / nullif(max(acc), 0) AS balance
        FROM per_modality GROUP BY setting, classifier ORDER BY setting DESC, classifier""")
        .arrow()
        .read_all()
    )
    return BALANCE.conform(table)


def to_markdown(table: pa.Table, digits: int = 3) -> str:
    cols = table.column_names

    def fmt(v: object) -> str:
        return f"{v:.{digits}f}" if isinstance(v, float) else ("–" if v is None else str(v))

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r[c]) for c in cols) + " |" for r in table.to_pylist()]
    return "\n".join(lines)


def plot_results(wide: pa.Table, path: Path) -> Path:
    """Grouped bars per benchmark: zero-shot templates, zero-shot centres, fine-tuned centres."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = wide.to_pylist()
    series = [(col, label) for col, _, _, label in HEADLINE if col in PLOTTED]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(rows)), 4))
    for i, (col, label) in enumerate(series):
        ax.bar(x + (i - 1) * 0.27, [r[col] or 0 for r in rows], 0.27, label=label)
    ax.set_xticks(x, [f"{r['benchmark']}\n({r['modality']})" for r in rows], fontsize=8)
    ax.set_ylabel("top-1 accuracy")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return path


def write_catalogue(db_path: Path, views: dict[str, str]) -> None:
    """The DuckDB catalogue: views over Parquet globs (name -> glob), rebuilt atomically by one writer.

    One writer at a time through an OS file lock (not a Dagster pool): the kernel releases it when the
    holder dies, so a killed run can never leave the next one waiting."""
    with file_lock(db_path.with_name(db_path.name + ".lock")), atomic_path(db_path) as tmp:
        tmp.unlink()
        con = duckdb.connect(str(tmp))
        try:
            for name, glob in views.items():
                quoted = "'" + glob.replace("'", "''") + "'"  # a data root may contain a quote
                con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM read_parquet({quoted}, union_by_name=true)')
        finally:
            con.close()


def paper_results() -> pa.Table:
    """The paper's numbers (PAPER_RESULTS_SCHEMA, percent), read from the package."""
    data = resources.files("unibind_core.evaluation").joinpath("paper/results.tsv").read_bytes()
    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(use_threads=False),
        parse_options=pacsv.ParseOptions(delimiter="\t"),
        convert_options=pacsv.ConvertOptions(column_types=PAPER_RESULTS.schema, strings_can_be_null=True),
    )
    return PAPER_RESULTS.conform(table)


def _pct(v: float | None) -> float | None:
    return None if v is None else 100 * v


def comparison_table(evals: pa.Table, retrieval: pa.Table, paper: pa.Table, benches: list[str]) -> pa.Table:
    """COMPARISON rows: for each benchmark of the run, our top-1 per paper row and our retrieval recall@k,
    beside the paper's number (percent) and the difference in points.

    The paper's rows of benchmarks outside the run are left out; the ones of benchmarks in it that we
    did not score stay, with `ours` empty. A profile none of whose benchmarks the paper reports (the
    demo) gets every row noted as having no paper counterpart."""
    in_run = set(benches)
    relevant = [r for r in paper.to_pylist() if set(r["benchmark"].split("->")) <= in_run]
    theirs = {(r["benchmark"], r["setting"], r["classifier"], r["metric"]): r for r in relevant}
    rows: dict[tuple, dict] = {}
    wanted = {(str(st), str(c)): (label, note) for st, c, label, note in PAPER_ROWS}
    for r in evals.to_pylist():
        if (r["setting"], r["classifier"]) in wanted:
            label, note = wanted[(r["setting"], r["classifier"])]
            rows[(r["benchmark"], r["setting"], r["classifier"], str(Metric.ACC1))] = {
                "modality": r["modality"],
                "task": str(Task.CLASSIFICATION),
                "paper_row": label,
                "ours": _pct(r["accuracy"]),
                "note": note,
            }
    for r in retrieval.to_pylist():
        if r.get("protocol") not in (None, SplitProtocol.FIXED):  # the paper's protocol: the fixed split
            continue
        name = f"{r['query_benchmark']}->{r['gallery_benchmark']}"
        rows[(name, r["setting"], None, r["metric"])] = {
            "modality": f"{r['query_modality']}->{r['gallery_modality']}",
            "task": str(Task.RETRIEVAL),
            "paper_row": RETRIEVAL_ROWS[Setting(r["setting"])],
            "ours": _pct(r["recall"]),
            "note": None,
        }
    for key, p in theirs.items():
        if key not in rows:
            task = Task.RETRIEVAL if "->" in key[0] else Task.CLASSIFICATION
            rows[key] = {
                "modality": None,
                "task": str(task),
                "paper_row": p["paper_row"],
                "ours": None,
                "note": "not scored in this run",
            }
    out = []
    for (bench, setting, clf, metric), r in rows.items():
        paper_value = (
            theirs[(bench, setting, clf, metric)]["value"] if (bench, setting, clf, metric) in theirs else None
        )
        diff = r["ours"] - paper_value if r["ours"] is not None and paper_value is not None else None
        if not theirs:  # nothing of the paper's applies: no row label, one note
            r = {**r, "paper_row": None, "note": NO_COUNTERPART}
        out.append(
            {
                "benchmark": bench,
                "setting": setting,
                "classifier": clf,
                "metric": metric,
                **r,
                "paper": paper_value,
                "difference": diff,
            }
        )
    order = {str(Setting.ZERO_SHOT): 0, str(Setting.FINE_TUNED): 1}
    out.sort(
        key=lambda r: (
            r["task"],
            r["benchmark"],
            order[r["setting"]],
            r["classifier"] or "",
            int(r["metric"].split("@")[1]) if "@" in r["metric"] else 0,
        )
    )
    return COMPARISON.conform(pa.Table.from_pylist(out, schema=COMPARISON.schema))


def to_csv(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pacsv.write_csv(table, sink)
    return sink.getvalue()


def comparison_markdown(comparison: pa.Table, record: dict) -> str:
    """The comparison table, a line on what it is compared with, and the reproducibility record."""
    has_paper = any(v is not None for v in comparison["paper"].to_pylist())
    intro = (
        "Ours beside UniBind (CVPR 2024, PointBind backbone) in percent; difference = ours - paper, in points."
        if has_paper
        else f"This profile has {NO_COUNTERPART}: the paper column is empty."
    )
    return "\n".join(
        [
            "## Results beside the paper",
            "",
            intro,
            "",
            to_markdown(comparison, digits=2),
            "",
            "## Reproducibility record",
            "",
            "```json",
            json.dumps(record, indent=2, sort_keys=True),
            "```",
            "",
        ]
    )
