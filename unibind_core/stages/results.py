"""The `results` stage: one table across benchmarks beside the paper's numbers, the balance across modalities,
the reproducibility record, a plot and the DuckDB catalogue (the tables are built in evaluation/results.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from unibind_core.core.settings import Settings
from unibind_core.evaluation.plots import inline_png
from unibind_core.evaluation.results import (
    aligner_comparison,
    aligner_markdown,
    balance_table,
    comparison_markdown,
    comparison_table,
    headline_rows,
    metrics_table,
    paper_results,
    plot_results,
    retrieval_summary,
    to_csv,
    to_markdown,
    wide_table,
    write_catalogue,
)
from unibind_core.stages import StageResult
from unibind_core.stages.provenance import reproducibility_record
from unibind_core.storage.io import content_hash, table_hash, write_bytes
from unibind_core.storage.tables import ALIGNER_COMPARISON, BALANCE, COMPARISON, EVALUATIONS, RESULTS, RETRIEVAL


def stage_results(s: Settings, benches: list[str]) -> StageResult:
    """One table across benchmarks (+ balance across modalities), ours beside the paper's numbers (CSV and
    markdown, with the reproducibility record), a plot, and the DuckDB catalogue."""
    lay = s.layout
    all_evals = pa.concat_tables([EVALUATIONS.read(lay.evaluation(b)) for b in benches])
    evals = headline_rows(all_evals, s.aligner)  # fixed split, the primary aligner: the paper's protocol
    wide, balance = wide_table(evals), balance_table(evals)
    out = lay.results_dir
    EVALUATIONS.write(all_evals, out / "evaluations.parquet")
    aligners = aligner_comparison(all_evals)
    ALIGNER_COMPARISON.write(aligners, out / "aligner_comparison.parquet")
    wide_path, balance_path = out / "results.parquet", out / "balance.parquet"
    RESULTS.write(wide, wide_path)
    BALANCE.write(balance, balance_path)
    retrieval = RETRIEVAL.read(lay.retrieval)
    comparison = comparison_table(evals, retrieval, paper_results(), benches)
    comparison_path = out / "paper_comparison.parquet"
    COMPARISON.write(comparison, comparison_path)
    write_bytes(to_csv(comparison), out / "paper_comparison.csv")
    record = reproducibility_record(s, benches)
    write_bytes((json.dumps(record, indent=2, sort_keys=True) + "\n").encode(), out / "reproducibility.json")
    write_bytes(comparison_markdown(comparison, record).encode(), out / "paper_comparison.md")
    md = (
        to_markdown(wide)
        + "\n\nBalance across modalities (min/max accuracy):\n\n"
        + to_markdown(balance)
        + "\n\nEvery metric (acc@1 = accuracy; clip_benchmark definitions):\n\n"
        + to_markdown(metrics_table(evals))
        + f"\n\nAligners side by side (top-1 with centres; primary {s.aligner!r}; cross-validation: mean ± std "
        "over the official folds):\n\n"
        + aligner_markdown(aligners)
        + "\n\nRetrieval recall@k (fixed test split):\n\n"
        + to_markdown(retrieval_summary(retrieval))
        + "\n\nBeside the paper (percent; paper_comparison.md has the reproducibility record):\n\n"
        + to_markdown(comparison.drop_columns(["note"]), digits=2)
    )
    write_bytes((md + "\n").encode(), out / "results.md")
    plot = plot_results(wide, out / "results.png")
    views = {
        "kb": lay.kb("*"),
        "manifests": lay.manifest("*"),
        "centres": lay.centres("*"),
        "evaluations": out / "evaluations.parquet",
        "results": wide_path,
        "balance": balance_path,
        "retrieval": lay.retrieval,
        "paper_comparison": comparison_path,
        "aligner_comparison": out / "aligner_comparison.parquet",
    }
    write_catalogue(lay.catalogue, {n: str(p) for n, p in views.items() if list(Path(p).parent.glob(Path(p).name))})
    preview = inline_png("results", plot)
    return StageResult(
        content_hash(table_hash(all_evals), table_hash(retrieval)),
        {
            "markdown": md,
            "plot": str(plot),
            "plot_preview": preview,
            "catalogue": str(lay.catalogue),
            "benchmarks": len(benches),
            "paper_comparison": str(out / "paper_comparison.csv"),
            "git_commit": record["code"]["commit"],
        },
    )
