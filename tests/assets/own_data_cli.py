"""Your own benchmarks through the `dagster` CLI and `unibind predict`, in a process of its own (the profile and
the benchmarks file are read when the code location loads): `python -m tests.assets.own_data_cli CONFIG OUT`
with UNIBIND_BENCHMARKS, UNIBIND_PROFILE (the file's profile) and DAGSTER_HOME set.

Per benchmark `unibind benchmarks` lists under the profile: `unibind manifest B` (the check), then every stage
of README_SELECTION plus embedding_index and predictions (over <data_root>/inbox/<benchmark>/), as `dagster asset
materialize --partition B`; then retrieval_evaluation and results_table; then `unibind predict --benchmark B
NEW_FILES` (fine-tuned, centres and templates) for each benchmark CONFIG's `new_files` lists; then a curator's
prompt file through the curated-inputs sensor's check. OUT: the calls, what the instance holds, the predictions.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import dagster as dg
from typer.testing import CliRunner

from tests.assets.paper_profile_cli import ACROSS, README_SELECTION, materialize

EVERY_STAGE = README_SELECTION + ",embedding_index,predictions"


def listed_benchmarks(profile: str) -> list[str]:
    """The names `unibind benchmarks` prints under `profile:`."""
    from pipelines.cli import app

    out = CliRunner().invoke(app, ["benchmarks"])
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    block = []
    for line in lines[lines.index(f"{profile}:") + 1 :]:
        if not line.startswith("  "):
            break
        block.append(line.split()[0])
    return block


def main(config_path: str, out_path: str) -> None:
    from pipelines.cli import app
    from tests.assets.paper_profile_run import recorded

    spec = json.loads(Path(config_path).read_text())
    config, new_files = spec["config"], spec["new_files"]
    benchmarks = listed_benchmarks(os.environ["UNIBIND_PROFILE"])
    checked = {}  # `unibind manifest B --out FILE`: the declared root read, counts printed, before any run
    for bench in benchmarks:
        run = CliRunner().invoke(
            app,
            [
                "manifest",
                bench,
                "--data-root",
                config["data_root"],
                "--out",
                str(Path(out_path).with_name(f"{bench}.manifest.parquet")),
            ],
        )
        checked[bench] = {"exit_code": run.exit_code, "output": run.output}
    calls = []
    for partition, select in [(b, EVERY_STAGE) for b in benchmarks] + [(None, ACROSS)]:
        start = time.perf_counter()
        calls.append(
            {
                "partition": partition,
                "error": materialize(select, config, partition),
                "seconds": round(time.perf_counter() - start, 1),
            }
        )
        print(f"{calls[-1]['seconds']:6.1f}s {partition or select}: {calls[-1]['error'] or 'ok'}", flush=True)
    predicted = {}  # `unibind predict` takes the backbone from the environment, as the README's user sets it
    os.environ.update(
        {
            "UNIBIND_BACKBONE": config["backbone"],
            "UNIBIND_BACKBONE_WEIGHTS": config["backbone_weights"],
            "UNIBIND_BACKBONE_PER_MODALITY": config["backbone_per_modality"],
        }
    )
    for bench, files in new_files.items():
        for classifier in ("centres", "templates"):
            out = Path(out_path).with_name(f"{bench}.{classifier}.json")
            run = CliRunner().invoke(
                app,
                [
                    "predict",
                    "--benchmark",
                    bench,
                    "--data-root",
                    config["data_root"],
                    "--classifier",
                    classifier,
                    "--device",
                    "cpu",
                    "--top-k",
                    "1",
                    "--out",
                    str(out),
                    *files,
                ],
            )
            predicted[f"{bench}/{classifier}"] = {
                "exit_code": run.exit_code,
                "output": run.output,
                "rows": json.loads(out.read_text()) if out.is_file() else None,
            }
    with dg.DagsterInstance.get() as instance:
        seen = recorded(instance)
    from assets.curated import changed_inputs
    from pipelines.definitions import defs  # the code location `dagster dev` (the UI) loads
    from unibind_core.storage.layout import Layout

    layout = Layout(Path(config["data_root"]))  # a curator's prompt file for the first: the sensor sees it alone
    _, seen_before = changed_inputs(layout, {})
    (layout.curated(benchmarks[0]) / "templates.txt").parent.mkdir(parents=True, exist_ok=True)
    (layout.curated(benchmarks[0]) / "templates.txt").write_text("a picture of a {}.\n")
    events, _ = changed_inputs(layout, seen_before)
    seen["curated_observed"] = [(e.asset_key.to_user_string(), e.partition) for e in events]

    seen["partitions"] = defs.resolve_assets_def("benchmark_manifest").partitions_def.get_partition_keys()
    Path(out_path).write_text(
        json.dumps({"benchmarks": benchmarks, "checked": checked, "calls": calls, "predicted": predicted, **seen})
    )


if __name__ == "__main__":
    main(*sys.argv[1:3])
