"""Materialize the whole graph, every partition, into one Dagster instance, in dependency order.

Runs in-process (one Python process, models loaded once) as a handful of ordinary Dagster runs, so
everything shows in the UI of the same instance. Stage order follows the asset graph: partitioned
assets upstream of the backbone, the backbone, partitioned assets downstream of it, then results.
Each run is tagged with this process's id; a run left STARTED by a killed driver is marked failed
when the next driver starts (`fail_orphaned_runs`), so nothing waits on it.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Sequence

import dagster as dg

from assets.resources import UnibindResource
from pipelines.definitions import ALL_ASSETS

WAVES: tuple[tuple[tuple[str, ...], bool], ...] = (
    (("demo_world",), False),
    (("benchmark_manifest", "category_descriptions", "data_captions", "knowledge_base", "kb_text_embeddings"), True),
    (("demo_backbone",), False),
    (("data_embeddings",), True),  # every benchmark's features first: a head also reads its partners' (pairs)
    (("embedding_centres", "aligned_heads", "benchmark_evaluation", "embedding_index", "predictions"), True),
    (("retrieval_evaluation", "results_table"), False),
)

# Dagster's console logger prints every engine event and failure traceback; the UI keeps them all, the
# terminal gets the driver's own lines (one per run, one per error).
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
PID_TAG, HOST_TAG = "unibind/driver_pid", "unibind/driver_host"
_UNFINISHED = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.NOT_STARTED]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def fail_orphaned_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed the unfinished runs of drivers on this host whose process is gone; returns their ids."""
    orphans = []
    runs = instance.get_runs(dg.RunsFilter(statuses=_UNFINISHED, tags={HOST_TAG: socket.gethostname()}))
    for run in runs:
        pid = int(run.tags.get(PID_TAG, "0") or 0)
        if pid and pid != os.getpid() and not _alive(pid):
            instance.report_run_failed(run, message=f"the unibind driver (pid {pid}) running it is gone")
            orphans.append(run.run_id)
    return orphans


def materialize_all(
    resource: UnibindResource,
    instance: dg.DagsterInstance,
    partitions: Sequence[str],
    log: Callable[[str], None] = print,
) -> dict[str, float]:
    """Run every wave; returns wall seconds per run. Raises on the first failed run (it names the step)."""
    for run_id in fail_orphaned_runs(instance):
        log(f"  marked run {run_id[:8]} failed: its driver process was killed")
    tags = {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
    timings: dict[str, float] = {}
    present = {k.to_user_string() for a in ALL_ASSETS for k in getattr(a, "keys", ())}
    for wave, partitioned in WAVES:
        selection = tuple(s for s in wave if s in present)  # the demo-only assets exist in the demo profile
        if not selection:
            continue
        for key in partitions if partitioned else (None,):
            label = f"{'+'.join(selection)}" + (f" [{key}]" if key else "")
            start = time.perf_counter()
            result = dg.materialize(
                ALL_ASSETS,
                selection=list(selection),
                partition_key=key,
                instance=instance,
                run_config=QUIET,
                resources={"unibind": resource},
                raise_on_error=True,
                tags=tags,
            )
            timings[label] = time.perf_counter() - start
            log(f"  {timings[label]:6.1f}s  {label}  (run {result.run_id[:8]})")
    return timings
