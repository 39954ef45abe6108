"""`unibind` command line: run the whole demo pipeline, or check a dataset root before a long job.

A failing command prints one line (`error: ...`) and exits non-zero at once; `--debug` shows the full
traceback. (Typer's pretty traceback printer is off: on large locals it could take minutes.)
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import typer

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False,
                  help="UniBind pipeline: knowledge base, centres, heads, evaluation.")
_DEBUG = {"on": False}


@app.callback()
def main(debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors.")) -> None:
    _DEBUG["on"] = debug


def root_cause(exc: BaseException) -> BaseException:
    """The user-facing error inside Dagster's wrappers (step failures chain the stage's own exception)."""
    seen = exc
    while True:
        inner = getattr(seen, "user_exception", None) or seen.__cause__
        if inner is None or inner is seen:
            return seen
        seen = inner


def fail(exc: BaseException) -> None:
    """One clear line and exit code 1 (the traceback only with --debug)."""
    if _DEBUG["on"]:
        raise exc
    cause = root_cause(exc)
    typer.echo(f"error: {cause}" if str(cause) else f"error: {type(cause).__name__}", err=True)
    raise typer.Exit(1)


@app.command()
def demo(data_root: Path = typer.Option(None, help="Where datasets and artifacts go (default: UNIBIND_DATA_ROOT, else ./data)."),
         max_per_class: int = typer.Option(None, help="Smaller demo world: this many digits per class.")) -> None:
    """Materialize every asset and every demo partition into the local instance, then print the results."""
    if not os.environ.get("DAGSTER_HOME"):
        raise typer.BadParameter("set DAGSTER_HOME to an absolute path (the Makefile sets it to ./dagster_home)")
    try:
        _demo(data_root, max_per_class)
    except (typer.Exit, typer.BadParameter, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001  (the one place that turns any failure into one line)
        fail(exc)


def _demo(data_root: Path | None, max_per_class: int | None) -> None:
    import dagster as dg

    from assets.partitions import BENCHMARKS
    from assets.resources import UnibindResource
    from pipelines.run_all import materialize_all
    from unibind_core.stages.common import check_settings

    overrides = {"data_root": str(data_root.resolve())} if data_root else {}
    resource = UnibindResource(**overrides, demo_max_per_class=max_per_class, progress=True)
    root = str(check_settings(resource.settings()).data_root)  # every option and name, before any work
    start = time.perf_counter()
    with dg.DagsterInstance.get() as instance:
        typer.echo(f"unibind demo: data in {root}, Dagster instance in {os.environ['DAGSTER_HOME']}")
        materialize_all(resource, instance, BENCHMARKS, log=typer.echo)
    typer.echo(f"\nall assets materialized in {time.perf_counter() - start:.1f}s\n")
    typer.echo((Path(root) / "results" / "results.md").read_text())


@app.command()
def manifest(benchmark: str, root: Path, out: Path = typer.Option(..., help="Parquet file to write.")) -> None:
    """Read a dataset root as its benchmark distributes it; write the manifest; print counts per split and class."""
    import pyarrow.compute as pc

    from unibind_core.benchmarks.manifest import DatasetLayoutError, ReadResult
    from unibind_core.benchmarks.readers import READERS
    from unibind_core.benchmarks.spec import BENCHMARKS
    from unibind_core.tables import MANIFEST

    if benchmark not in BENCHMARKS:
        typer.echo(f"error: unknown benchmark {benchmark!r}; known: {', '.join(sorted(BENCHMARKS))}", err=True)
        raise typer.Exit(2)
    spec = BENCHMARKS[benchmark]
    if not root.is_dir():
        raise typer.BadParameter(f"dataset root {root} does not exist")
    try:
        result: ReadResult = READERS[spec.reader](root, **dict(spec.reader_options))
    except DatasetLayoutError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    table = result.manifest()
    MANIFEST.write(table, out)
    typer.echo(f"{benchmark}: {table.num_rows} samples, {len(result.classes)} classes, "
               f"{len(result.quarantine)} quarantined -> {out}")
    for row in pc.value_counts(table["split"]).to_pylist():
        typer.echo(f"  split {row['values']}: {row['counts']}")
    for row in sorted(pc.value_counts(table["class_name"]).to_pylist(), key=lambda r: r["values"]):
        typer.echo(f"  class {row['values']}: {row['counts']}")
    for q in result.quarantine[:20]:
        typer.echo(f"  quarantined {q['path']}: {q['reason']}")


@app.command()
def benchmarks() -> None:
    """List the benchmark names (the partition keys) of every profile."""
    from unibind_core.benchmarks.spec import BENCHMARKS, PROFILES

    for profile, names in PROFILES.items():
        typer.echo(f"{profile}:")
        for name in names:
            spec = BENCHMARKS[name]
            typer.echo(f"  {name:<16} {spec.modality:<8} reader {spec.reader}, root {spec.root}")
