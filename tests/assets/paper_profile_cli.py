"""The README's paper-profile loop through the `dagster` CLI, one partition at a time, in a process of its own:
`python -m tests.assets.paper_profile_cli CONFIG ORDER OUT` with UNIBIND_PROFILE=paper and DAGSTER_HOME set.

ORDER is `printed` (the order `unibind benchmarks` prints, read off its `paper:` block as the README's sed/awk
does) or `reversed`. Per benchmark: `dagster asset materialize -m pipelines.definitions --partition B --select
<the README's nine assets> --config-json {"resources": {"unibind": {"config": CONFIG}}}`; then `--select
retrieval_evaluation,results_table`. The CLI's own entry point is called in this process (click, not a shell):
the same argument parsing, code location loading and DAGSTER_HOME instance, while the imports (dagster, torch,
open_clip: ~10 s a process on two cores) load once instead of once per call. A failed call is recorded with
its step's error and the loop goes on, as a shell loop would. OUT: paper_profile_run.recorded plus the calls.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
import dagster as dg
from typer.testing import CliRunner

README_SELECTION = (
    "benchmark_manifest,category_descriptions,data_captions,knowledge_base,kb_text_embeddings,"
    "data_embeddings,embedding_centres,aligned_heads,benchmark_evaluation"
)
ACROSS = "retrieval_evaluation,results_table"
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}  # the run's events stay in the instance


def printed_benchmarks() -> list[str]:
    """`unibind benchmarks | sed -n '/^paper:/,/^[a-z]/p' | awk '/^  /{print $1}'`."""
    from pipelines.cli import app

    out = CliRunner().invoke(app, ["benchmarks"])
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    start = lines.index("paper:") + 1
    block = []
    for line in lines[start:]:
        if line[:1].islower():
            break
        block.append(line)
    return [line.split()[0] for line in block if line.startswith("  ")]


def _failure(instance: dg.DagsterInstance) -> str:
    """The first step failure's message of the latest run."""
    run = instance.get_runs(limit=1)[0]
    for event in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        error = event.dagster_event.event_specific_data.error
        return f"{event.dagster_event.step_key}: {error.message.strip()[-800:]}"
    return f"run {run.run_id[:8]} {run.status}"


def materialize(select: str, config: dict, partition: str | None) -> str | None:
    """One `dagster asset materialize` call; None when it succeeded, else why not."""
    from dagster._cli import cli

    args = [
        "asset",
        "materialize",
        "-m",
        "pipelines.definitions",
        "--select",
        select,
        "--config-json",
        json.dumps({"resources": {"unibind": {"config": config}}, **QUIET}),
    ]
    try:
        cli.main(args + (["--partition", partition] if partition else []), standalone_mode=False)
    except click.ClickException as exc:
        with dg.DagsterInstance.get() as instance:
            return f"{exc.message} {_failure(instance)}"
    return None


def main(config_path: str, order: str, out_path: str) -> None:
    from tests.assets.paper_profile_run import recorded

    config = json.loads(Path(config_path).read_text())
    benchmarks = printed_benchmarks()
    benchmarks = benchmarks[::-1] if order == "reversed" else benchmarks
    calls = []
    for partition, select in [(b, README_SELECTION) for b in benchmarks] + [(None, ACROSS)]:
        start = time.perf_counter()
        error = materialize(select, config, partition)
        calls.append(
            {"partition": partition, "select": select, "error": error, "seconds": round(time.perf_counter() - start, 1)}
        )
        print(f"{calls[-1]['seconds']:6.1f}s {partition or select}: {error or 'ok'}", flush=True)
    with dg.DagsterInstance.get() as instance:
        seen = recorded(instance)
    Path(out_path).write_text(json.dumps({"order": benchmarks, "calls": calls, **seen}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
