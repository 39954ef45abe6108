"""The results table across benchmarks, a balance measure across modalities, and the plot."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from unibind_core.io import atomic_path, file_lock
from unibind_core.tables import BALANCE, RESULTS, Classifier, Setting

# The headline columns of the results table: (column, setting, classifier, plot label).
HEADLINE = (("zs_templates", Setting.ZERO_SHOT, Classifier.TEMPLATES, "zero-shot, CLIP templates"),
            ("zs_single", Setting.ZERO_SHOT, Classifier.SINGLE_TEMPLATE, "zero-shot, single template"),
            ("zs_centres", Setting.ZERO_SHOT, Classifier.CENTRES, "zero-shot, UniBind centres"),
            ("ft_centres", Setting.FINE_TUNED, Classifier.CENTRES, "fine-tuned, UniBind centres"))
PLOTTED = ("zs_templates", "zs_centres", "ft_centres")


def wide_table(evals: pa.Table) -> pa.Table:
    """One row per benchmark (RESULTS_SCHEMA): zero-shot templates vs centres, fine-tuned with centres."""
    columns = ",\n".join(f"max(accuracy) FILTER (WHERE setting = '{setting}' AND classifier = '{clf}') AS {col}"
                          for col, setting, clf, _ in HEADLINE)
    table = duckdb.sql(f"""
        SELECT benchmark, modality, {columns}, max(n) AS n_test
        FROM evals GROUP BY benchmark, modality ORDER BY modality, benchmark""").arrow().read_all()
    return RESULTS.conform(table)


def balance_table(evals: pa.Table) -> pa.Table:
    """Per classifier across modalities (BALANCE_SCHEMA): balance = min / max accuracy (1 = balanced)."""
    table = duckdb.sql("""
        WITH per_modality AS (
          SELECT setting, classifier, modality, avg(accuracy) AS acc FROM evals GROUP BY ALL)
        SELECT setting, classifier, avg(acc) AS mean_accuracy, min(acc) AS min_accuracy,
               coalesce(stddev_pop(acc), 0) AS std_accuracy, min(acc) / nullif(max(acc), 0) AS balance
        FROM per_modality GROUP BY setting, classifier ORDER BY setting DESC, classifier""").arrow().read_all()
    return BALANCE.conform(table)


def to_markdown(table: pa.Table, digits: int = 3) -> str:
    cols = table.column_names
    fmt = lambda v: f"{v:.{digits}f}" if isinstance(v, float) else ("–" if v is None else str(v))  # noqa: E731
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
