"""`unibind predict`, `export` and `search`: the commands that use what the pipeline learned (a benchmark's
centres, head and stored features). Registered on the one `unibind` app (pipelines/cli.py imports this module)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from pipelines.cli import _benchmark_names, app, one_line_errors, refuse


def _write_rows(table, fmt: str, out: Path | None) -> None:
    """A table as an aligned text table or JSON (stdout, or `out`), or Parquet (`out` required)."""
    from unibind_core.evaluation.results import to_markdown
    from unibind_core.storage.io import write_bytes

    if fmt == "parquet":
        import pyarrow.parquet as pq

        out.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, out)
        return
    text = (json.dumps(table.to_pylist(), indent=1) if fmt == "json" else to_markdown(table, digits=4)) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        write_bytes(text.encode(), out)


def _data_settings(data_root: Path | None, device: str, batch_size: int):
    from unibind_core.core.settings import Settings

    root = data_root or Path(os.environ.get("UNIBIND_DATA_ROOT", "data"))
    return Settings.from_mapping({"data_root": str(root.resolve()), "device": device, "batch_size": batch_size})


_FORMATS = ("table", "json", "parquet")


@app.command()
def predict(
    files: list[Path] = typer.Argument(None, help="Files of the benchmark's modality to classify."),
    benchmark: str = typer.Option(
        None, help=f"Benchmark whose classes, centres and head classify: {_benchmark_names()}."
    ),
    model: Path = typer.Option(None, help="An exported model folder (unibind export) instead of --benchmark."),
    setting: str = typer.Option("fine-tuned", help="fine-tuned (through the head) or zero-shot (frozen features)."),
    classifier: str = typer.Option("centres", help="centres, templates or single_template."),
    top_k: int = typer.Option(5, "--top-k", help="Classes reported per file."),
    aligner: str = typer.Option(None, help="Head of this aligner (default: the primary, option aligner)."),
    fold: int = typer.Option(
        None,
        help="Head trained with this official fold as its test fold (cross-validated "
        "benchmarks, e.g. demo_audio fold 5).",
    ),
    backbone: str = typer.Option(
        None, help="With --model: refuse the folder unless its backbone is this (name or id)."
    ),
    data_root: Path = typer.Option(
        None, help="Data root of the pipeline's run (default: UNIBIND_DATA_ROOT, else ./data)."
    ),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
    batch_size: int = typer.Option(256, help="Inference micro-batch."),
    format: str = typer.Option(
        None, "--format", help="table, json or parquet (default: from --out's suffix, else table)."
    ),
    out: Path = typer.Option(None, help="File to write (parquet needs one); default: stdout."),
) -> None:
    """Classify new files with a benchmark's centres or templates, zero-shot or through its fine-tuned head:
    one row per file and rank (path, rank, class_index, class_name, score), then a one-line summary."""
    from unibind_core.storage.tables import Classifier, Setting

    files = list(files or [])
    if not files:
        refuse("nothing to classify: give FILES")
    if (benchmark is None) == (model is None):
        refuse("give exactly one of --benchmark B (a data root's run) or --model DIR (an exported folder)")
    if setting not in {str(x) for x in Setting}:
        refuse(f"unknown setting {setting!r}; known: {', '.join(map(str, Setting))}")
    if classifier not in {str(x) for x in Classifier}:
        refuse(f"unknown classifier {classifier!r}; known: {', '.join(map(str, Classifier))}")
    fmt = format or (out.suffix.lstrip(".") if out is not None and out.suffix.lstrip(".") in _FORMATS else "table")
    if fmt not in _FORMATS:
        refuse(f"unknown format {fmt!r}; known: {', '.join(_FORMATS)}")
    if fmt == "parquet" and out is None:
        refuse("--format parquet needs --out FILE")
    with one_line_errors():
        from unibind_core.use.predict import bound_model, require_benchmark
        from unibind_core.use.predict import predict as run_predict

        if model is not None:
            from unibind_core.use.export import load_model

            bound = load_model(model, backbone, device, batch_size)
        else:
            require_benchmark(benchmark)
            bound = bound_model(_data_settings(data_root, device, batch_size), benchmark, aligner, fold)
        result = run_predict(bound, files, Setting(setting), Classifier(classifier), top_k)
    for f in result.failures:
        typer.echo(f"skipped {f['path']}: {f['reason']}", err=True)
    _write_rows(result.table, fmt, out)
    if out is not None and result.failures:
        from unibind_core.storage.tables import PREDICTION_FAILURES

        failures_out = out.with_name(out.stem + ".failures.parquet")
        PREDICTION_FAILURES.write(
            PREDICTION_FAILURES.table(
                {"path": [f["path"] for f in result.failures], "reason": [f["reason"] for f in result.failures]}
            ),
            failures_out,
        )
        typer.echo(f"skipped files -> {failures_out}", err=True)
    classified = len(result.top1)
    typer.echo(
        f"{bound.benchmark} [{setting}, {classifier}]: {classified} of {len(files)} files classified, "
        f"{len(result.failures)} skipped; top-{min(top_k, bound.classifiers.n_classes)} per file"
        + (f" -> {out}" if out is not None else ""),
        err=out is None,
    )
    if not classified:
        raise typer.Exit(1)


@app.command()
def export(
    benchmark: str = typer.Option(..., help=f"Benchmark to export: {_benchmark_names()}."),
    out: Path = typer.Option(..., help="Folder to write the bound model into."),
    aligner: str = typer.Option(None, help="Head of this aligner (default: the primary)."),
    data_root: Path = typer.Option(
        None, help="Data root of the pipeline's run (default: UNIBIND_DATA_ROOT, else ./data)."
    ),
) -> None:
    """Write a self-contained bound model: head, centres, class list, templates, backbone settings (a local
    weights file copied), knowledge-base hash, results beside the paper and a model card (README.md)."""

    with one_line_errors():
        from unibind_core.use.export import export_model
        from unibind_core.use.predict import require_benchmark

        require_benchmark(benchmark)
        folder = export_model(_data_settings(data_root, "cpu", 256), benchmark, out, aligner)
    typer.echo(f"{benchmark}: bound model -> {folder} ({', '.join(sorted(p.name for p in folder.iterdir()))})")


@app.command()
def search(
    text: list[str] = typer.Option([], "--text", help="A text query (the gallery's text tower); repeatable."),
    file: list[Path] = typer.Option(
        [], "--file", help="A file query, decoded as --modality's benchmark does; repeatable."
    ),
    modality: str = typer.Option(None, help="Modality of --file: its benchmark's loader and head embed it."),
    query_benchmark: str = typer.Option(
        None, help="Benchmark whose loader and head embed --file (default: the profile's first of --modality)."
    ),
    benchmark: list[str] = typer.Option(
        [], "--benchmark", help="Gallery benchmark, repeatable (default: every indexed one)."
    ),
    k: int = typer.Option(10, "-k", help="Hits per query."),
    data_root: Path = typer.Option(
        None, help="Data root of the pipeline's run (default: UNIBIND_DATA_ROOT, else ./data)."
    ),
    format: str = typer.Option(
        None, "--format", help="table, json or parquet (default: from --out's suffix, else table)."
    ),
    out: Path = typer.Option(None, help="File to write (parquet needs one); default: stdout."),
) -> None:
    """The nearest stored samples to a text or a file across indexed benchmarks, in the shared space, through
    each benchmark's fine-tuned head where it has one (the embedding_index asset builds the indexes)."""
    from unibind_core.data.modalities import LOADERS

    if bool(text) == bool(file):
        refuse("give --text or --file (not both)")
    if modality is not None and modality not in LOADERS:
        refuse(f"unknown modality {modality!r}; known: {', '.join(sorted(LOADERS))}")
    if file and modality is None and query_benchmark is None:
        refuse("--file needs --modality (or --query-benchmark)")
    fmt = format or (out.suffix.lstrip(".") if out is not None and out.suffix.lstrip(".") in _FORMATS else "table")
    if fmt not in _FORMATS or (fmt == "parquet" and out is None):
        refuse(f"format {fmt!r}: one of {', '.join(_FORMATS)}; parquet needs --out FILE")
    with one_line_errors():
        from unibind_core.use.predict import require_benchmark
        from unibind_core.use.search import file_query, search_galleries, text_query
        from unibind_core.use.search import query_benchmark as first_of

        for b in [*benchmark, *([query_benchmark] if query_benchmark else [])]:
            require_benchmark(b)
        s = _data_settings(data_root, "auto", 256)
        failures = []
        if text:
            query = text_query(text)
        else:
            query, failures = file_query(s, query_benchmark or first_of(s, modality), file)
        result = search_galleries(s, query, benchmark, k)
    for f in failures:
        typer.echo(f"skipped {f['path']}: {f['reason']}", err=True)
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    _write_rows(result.hits, fmt, out)
    typer.echo(
        f"{len(query.labels)} queries, {result.hits.num_rows} hits from "
        f"{', '.join(sorted(set(result.hits['benchmark'].to_pylist()))) or 'no gallery'}"
        + (f" -> {out}" if out is not None else ""),
        err=out is None,
    )
