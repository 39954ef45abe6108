"""`unibind` command line: run the whole demo pipeline, check a dataset root before a long job, embed your own files.

A failing command prints one line (`error: ...`) and exits non-zero at once; `--debug` shows the full
traceback. (Typer's pretty traceback printer is off: on large locals it could take minutes.)
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from unibind_core.core.errors import ConfigError

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    help="UniBind pipeline: knowledge base, centres, heads, evaluation.",
)
_DEBUG = {"on": False}


def _add_env_commands() -> None:
    from pipelines.env_cli import env_app

    app.add_typer(env_app, name="env")


_add_env_commands()


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
def demo(
    data_root: Path = typer.Option(
        None, help="Where datasets and artifacts go (default: UNIBIND_DATA_ROOT, else ./data)."
    ),
    max_per_class: int = typer.Option(None, help="Smaller demo world: this many digits per class."),
    refresh: bool = typer.Option(
        False,
        "--refresh",
        help="Recompute every stage, even where stored outputs and caches are current (the refresh option).",
    ),
) -> None:
    """Materialize every asset and every demo partition into the local instance, then print the results."""
    if not os.environ.get("DAGSTER_HOME"):
        raise typer.BadParameter("set DAGSTER_HOME to an absolute path (the Makefile sets it to ./dagster_home)")
    try:
        _demo(data_root, max_per_class, refresh)
    except (typer.Exit, typer.BadParameter, KeyboardInterrupt):
        raise
    except Exception as exc:
        fail(exc)


def _demo(data_root: Path | None, max_per_class: int | None, refresh: bool = False) -> None:
    import dagster as dg

    from assets.partitions import BENCHMARKS
    from assets.resources import UnibindResource
    from pipelines.run_all import materialize_all
    from unibind_core.stages.common import check_settings

    overrides = {"data_root": str(data_root.resolve())} if data_root else {}
    resource = UnibindResource(**overrides, demo_max_per_class=max_per_class, progress=True, refresh=refresh)
    root = str(check_settings(resource.settings()).data_root)  # every option and name, before any work
    start = time.perf_counter()
    with dg.DagsterInstance.get() as instance:
        typer.echo(f"unibind demo: data in {root}, Dagster instance in {os.environ['DAGSTER_HOME']}")
        materialize_all(resource, instance, BENCHMARKS, log=typer.echo)
    typer.echo(f"\nall assets materialized in {time.perf_counter() - start:.1f}s\n")
    typer.echo((Path(root) / "results" / "results.md").read_text())


def _benchmark_names() -> str:
    try:  # the first import of the registry reads your own benchmarks' file (UNIBIND_BENCHMARKS)
        from unibind_core.data.benchmarks.spec import BENCHMARKS
    except ConfigError as exc:  # a mistake in that file: one line, before any command runs
        if "--debug" in sys.argv:
            raise
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(2) from None

    return ", ".join(sorted(BENCHMARKS))


def parse_option(text: str) -> tuple[str, object]:
    """`key=value` -> (key, value): JSON values (`[1, 2]`, `3`, `null`), `none` for None, else the string."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"reader option {text!r} is not key=value")
    if raw.strip().lower() == "none":
        return key.strip(), None
    try:
        return key.strip(), json.loads(raw)
    except json.JSONDecodeError:
        return key.strip(), raw


def refuse(message: str) -> None:
    """One line on stderr and exit code 2: the input (name, root, layout, option) is wrong."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@contextmanager
def one_line_errors(
    user_errors: tuple[type[BaseException], ...] = (ConfigError, ValueError, FileNotFoundError),
) -> Iterator[None]:
    """A command's body: the user's input or configuration wrong (or an asset not materialized) -> `refuse`
    (exit 2), anything else (a model that does not load, ...) -> `fail` (exit 1); tracebacks with --debug."""
    try:
        yield
    except (typer.Exit, typer.BadParameter, KeyboardInterrupt):
        raise
    except user_errors as exc:
        if _DEBUG["on"]:
            raise
        refuse(str(exc) if str(exc) else type(exc).__name__)
    except Exception as exc:
        fail(exc)


@app.command()
def manifest(
    benchmark: str = typer.Argument(..., help=f"Benchmark name, one of: {_benchmark_names()}."),
    root: Path = typer.Argument(
        None,
        help="Dataset root as distributed (the archive's top folder or the one inside); "
        "default: the benchmark's own root under <data_root>/datasets (or its absolute root).",
    ),
    out: Path = typer.Option(..., help="Parquet file to write."),
    data_root: Path = typer.Option(
        None, help="Where ROOT is looked for when not given (default: UNIBIND_DATA_ROOT, else ./data)."
    ),
    option: list[str] = typer.Option(
        [],
        "--option",
        "-o",
        help="Reader option key=value, repeatable: "
        "classnames=none (custom data), classnames=<list file>, test_folds=[1], split=2.",
    ),
) -> None:
    """Read a dataset root as its benchmark distributes it; write the manifest; print counts per split and
    class, the classes this copy lacks and what was quarantined."""
    from unibind_core.data.benchmarks.build import read_root
    from unibind_core.data.benchmarks.spec import BENCHMARKS
    from unibind_core.storage.tables import MANIFEST, QUARANTINE

    if benchmark not in BENCHMARKS:
        refuse(f"unknown benchmark {benchmark!r}; known: {_benchmark_names()}")
    spec = BENCHMARKS[benchmark]
    if root is None:
        from unibind_core.data.benchmarks.build import dataset_root
        from unibind_core.data.benchmarks.manifest import DatasetLayoutError

        datasets = (data_root or Path(os.environ.get("UNIBIND_DATA_ROOT", "data"))).resolve() / "datasets"
        try:
            root = dataset_root(spec, datasets)
        except DatasetLayoutError as exc:
            refuse(f"{exc} (expected {_layout(spec.reader)})")
    if not root.is_dir():
        refuse(f"dataset root {root} does not exist or is not a folder (expected {_layout(spec.reader)})")
    try:
        overrides = dict(parse_option(o) for o in option)
        built = read_root(spec, root, overrides)
    except (ValueError, KeyError, OSError) as exc:  # layout, option and list errors: the user's input
        if _DEBUG["on"]:
            raise
        refuse(str(exc) if str(exc) else type(exc).__name__)
    MANIFEST.write(built.table, out)
    quarantine_out = out.with_name(out.stem + ".quarantine.parquet")
    QUARANTINE.write(built.quarantine, quarantine_out)
    typer.echo(
        f"{benchmark}: {built.table.num_rows} samples, {built.classes.num_rows} classes, "
        f"{built.quarantine.num_rows} quarantined -> {out}"
    )
    if built.missing:
        typer.echo(f"  missing: {built.missing_summary()}")
    for name, count in sorted(built.split_counts().items()):
        typer.echo(f"  split {name}: {count}")
    import pyarrow.compute as pc

    for row in sorted(pc.value_counts(built.table["class_name"]).to_pylist(), key=lambda r: r["values"]):
        typer.echo(f"  class {row['values']}: {row['counts']}")
    for q in built.quarantine.to_pylist()[:20]:
        typer.echo(f"  quarantined {q['path']}: {q['reason']}")
    if built.quarantine.num_rows:
        typer.echo(f"  quarantine -> {quarantine_out}")


def _layout(reader: str) -> str:
    """The expected layout of a reader, from its module's LAYOUT line."""
    import importlib

    from unibind_core.data.benchmarks.readers import READERS

    return getattr(importlib.import_module(READERS.module_of(reader)), "LAYOUT", "see the reader's docstring")


@app.command()
def benchmarks() -> None:
    """List every benchmark: name, modality, reader and the layout it expects, one line each, per profile."""
    from unibind_core.data.benchmarks.spec import BENCHMARKS, PROFILES

    for profile, names in PROFILES.items():
        typer.echo(f"{profile}:")
        for name in names:
            spec = BENCHMARKS[name]
            typer.echo(
                f"  {name:<16} {spec.modality:<8} reader {spec.reader:<22} root {' or '.join(spec.root_names)}: "
                f"{_layout(spec.reader)}"
            )


@app.command()
def embed(
    files: list[Path] = typer.Argument(None, help="Files of one modality to embed (as the pipeline decodes them)."),
    backbone: str = typer.Option(..., help="Backbone name (BACKBONES): open_clip, hf_clip, clap, demo."),
    model: str = typer.Option(None, help="backbone_model: an architecture (ViT-B-32), a hub id or a local folder."),
    weights: str = typer.Option(None, help="backbone_weights: a pretrained tag, a checkpoint file or a model folder."),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
    modality: str = typer.Option(
        None,
        help="Modality of FILES (image, video, event, thermal, point, audio); "
        "texts go through this modality's backbone's text tower.",
    ),
    text: list[str] = typer.Option([], "--text", help="A text to embed with the backbone's text tower; repeatable."),
    benchmark: str = typer.Option(
        None, help="Decode FILES with this benchmark's loader options (e.g. esc50: 16 kHz, 5 s clips)."
    ),
    option: list[str] = typer.Option(
        [],
        "--option",
        "-o",
        help="Loader option key=value, repeatable: size=224, sample_rate=16000, frames=8, num_points=1024.",
    ),
    batch_size: int = typer.Option(64, help="Inference micro-batch."),
    out: Path = typer.Option(..., help="Parquet file to write: one row per input (kind, path or text, vector)."),
) -> None:
    """Embed your own files and texts through exactly the pipeline's code path (loaders, backbone, text tower)."""
    from unibind_core.core.settings import Settings
    from unibind_core.data.benchmarks.spec import BENCHMARKS
    from unibind_core.data.modalities import LOADERS
    from unibind_core.encoders.backbone import BACKBONES
    from unibind_core.encoders.embed_files import embed_files, embed_text_inputs, embedded_table
    from unibind_core.storage.tables import EMBEDDED

    files = list(files or [])
    if not files and not text:
        refuse("nothing to embed: give FILES (with --modality) or --text")
    if backbone not in BACKBONES:
        refuse(f"unknown backbone {backbone!r}; known: {', '.join(sorted(BACKBONES))}")
    if files and modality is None:
        refuse("--modality is required with FILES (image, video, event, thermal, point, audio)")
    if modality is not None and modality not in LOADERS:
        refuse(f"unknown modality {modality!r}; known: {', '.join(sorted(LOADERS))}")
    if benchmark is not None and benchmark not in BENCHMARKS:
        refuse(f"unknown benchmark {benchmark!r}; known: {_benchmark_names()}")
    with one_line_errors((ConfigError, ValueError, FileNotFoundError, TypeError)):
        options = {
            **(dict(BENCHMARKS[benchmark].loader_options) if benchmark else {}),
            **dict(parse_option(o) for o in option),
        }
        s = Settings(
            data_root=Path(os.environ.get("UNIBIND_DATA_ROOT", "data")).resolve(),
            backbone=backbone,
            backbone_model=model,
            backbone_weights=weights,
            backbone_per_modality="",
            device=device,
            batch_size=batch_size,
        )
        file_vectors = embed_files(s, modality, files, options) if files else None
        text_vectors = embed_text_inputs(s, text, modality) if text else None
    table = embedded_table(s, modality, files, file_vectors, text, text_vectors)
    EMBEDDED.write(table, out)
    typer.echo(
        f"{table.num_rows} vectors of {table.schema.field('vector').type.list_size} dimensions "
        f"({len(files)} files, {len(text)} texts; {table['backbone'][0]}) -> {out}"
    )


# predict, export, search: the commands that use what the pipeline learned (pipelines/use_cli.py)
from pipelines import use_cli  # noqa: E402,F401  (registers its commands on `app`; it imports this module)
