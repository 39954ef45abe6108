"""Materialize every asset of the `paper` profile through Dagster, in a process of its own.

The profile is fixed when the code location loads (assets/partitions.py reads UNIBIND_PROFILE at import), so
the test that drives the paper profile runs this module as `python -m tests.assets.paper_profile_run CONFIG OUT`
with UNIBIND_PROFILE=paper: CONFIG is the resource's config (JSON), OUT receives what Dagster recorded (every
materialization with its partition and metadata, every asset check's outcome, the wall time of each run).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import dagster as dg


def _value(entry: object) -> object:
    """A metadata entry as plain JSON (text, number, mapping or its string form)."""
    value = getattr(entry, "value", entry)
    return value if isinstance(value, (str, int, float, bool, dict, list, type(None))) else str(value)


def main(config_path: str, out_path: str) -> None:
    from assets.partitions import BENCHMARKS, PROFILE
    from assets.resources import UnibindResource
    from pipelines.run_all import materialize_all

    resource = UnibindResource(**json.loads(Path(config_path).read_text()))
    with dg.DagsterInstance.ephemeral() as instance:
        timings = materialize_all(resource, instance, BENCHMARKS, log=lambda line: print(line, flush=True))
        seen = recorded(instance)
    Path(out_path).write_text(
        json.dumps({"profile": PROFILE, "benchmarks": list(BENCHMARKS), "timings": timings, **seen})
    )


def recorded(instance: dg.DagsterInstance) -> dict:
    """What the instance holds: every asset of the code location, each materialization (asset, partition,
    metadata without previews) and each asset check's outcome."""
    from pipelines.definitions import ALL_ASSETS

    materialized = []
    assets = sorted({k for a in ALL_ASSETS for k in getattr(a, "keys", ())}, key=lambda k: k.to_user_string())
    for key in assets:
        for record in instance.fetch_materializations(key, limit=1000).records:
            event = record.asset_materialization
            materialized.append(
                {
                    "asset": key.to_user_string(),
                    "partition": event.partition,
                    "metadata": {
                        k: _value(v) for k, v in event.metadata.items() if not k.endswith("preview") and k != "markdown"
                    },
                }
            )
    checks = []
    for run in instance.get_runs():
        for event in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
            data = event.dagster_event.event_specific_data
            checks.append(
                {
                    "check": data.check_name,
                    "asset": data.asset_key.to_user_string(),
                    "partition": data.partition,
                    "passed": data.passed,
                }
            )
    return {"assets": [k.to_user_string() for k in assets], "materialized": materialized, "checks": checks}


if __name__ == "__main__":
    main(*sys.argv[1:3])
