"""Faults of a user's day, performed for real: SIGKILLed processes, a held catalogue lock, orphaned
runs, a failing command. Each must end in completion or one clear line, within a time bound."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import pytest
from instance_testing import instance_env

from pipelines.run_all import fail_orphaned_runs
from tests.helpers.readme_tables import readme_results
from unibind_core.evaluation.results import write_catalogue
from unibind_core.storage.io import file_lock

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _env(tmp_path: Path) -> dict:
    return instance_env(tmp_path)


def _wait_for(proc: subprocess.Popen, needle: str, timeout: float) -> str:
    """Read proc's stdout until a line contains `needle` (or fail after `timeout` seconds)."""
    deadline, seen = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if needle in line:
            return "".join(seen)
    proc.kill()
    raise AssertionError(f"{needle!r} not seen in {timeout}s:\n{''.join(seen)[-2000:]}")


KILL_POINTS = (
    "kb_text_embeddings [demo_event]",  # the knowledge side of demo_audio running
    "predictions [demo_thermal]",
)  # the last benchmark wave done: results_table (the catalogue writer) running


@pytest.mark.slow
def test_sigkill_mid_run_twice_then_the_next_demo_completes(tmp_path):
    """Killed in the knowledge wave, then (the rerun) while the catalogue is written; the third run completes.
    One demo's work in all: each run resumes where the killed one stopped."""
    env, data = _env(tmp_path), tmp_path / "data"
    cmd = [str(BIN / "unibind"), "demo", "--data-root", str(data), "--max-per-class", "10"]
    for after in KILL_POINTS:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        _wait_for(proc, after, 400)  # the next run is in flight now
        time.sleep(0.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    start = time.monotonic()
    rerun = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "| demo_image | image |" in rerun.stdout and (data / "results" / "results.md").is_file()
    assert time.monotonic() - start < 600
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        unfinished = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        assert not unfinished  # each killed driver's run was marked failed by the next run
        assert len(instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))) >= len(KILL_POINTS)
    # Killed twice and resumed, on whatever machine runs the suite: the figures of the README's
    # `--max-per-class 10` table, exactly at its three decimals (docs/method.md, Reproducibility).
    readme = readme_results.figures(readme_results.block((ROOT / "README.md").read_text(), "quick"))
    assert readme_results.figures(readme_results.render(data / "results")) == readme


_HOLD_LOCK = """
import sys, time
from unibind_core.storage.io import file_lock
with file_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(600)
"""


def test_a_killed_catalogue_writer_never_blocks_the_next_one(tmp_path):
    db = tmp_path / "catalogue.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(db) + ".lock"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "locked"
    holder.send_signal(signal.SIGKILL)
    holder.wait(10)
    start = time.monotonic()
    write_catalogue(db, {})
    assert db.is_file() and time.monotonic() - start < 5


def test_the_catalogue_lock_excludes_a_second_writer_while_held(tmp_path):
    lock = tmp_path / "x.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(lock)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        probe = subprocess.run(
            [
                sys.executable,
                "-c",
                textwrap.dedent(f"""
            import fcntl
            f = open({str(lock)!r}, "a")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                print("acquired")
            except BlockingIOError:
                print("busy")
        """),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert probe.stdout.strip() == "busy"
    finally:
        holder.kill()
        holder.wait(10)
    with file_lock(lock):
        pass


_STUCK_RUN = """
import os, socket, time
import dagster as dg
from pipelines.run_all import HOST_TAG, PID_TAG

@dg.asset
def stuck() -> None:
    print("running", flush=True)
    time.sleep(600)

with dg.DagsterInstance.get() as instance:
    dg.materialize([stuck], instance=instance, tags={PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()})
"""


@pytest.mark.slow  # a driver killed in a subprocess: ~8 s
def test_runs_of_a_killed_driver_are_marked_failed(tmp_path):
    env = _env(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-c", _STUCK_RUN],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    _wait_for(proc, "running", 120)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        (run,) = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        assert fail_orphaned_runs(instance) == [run.run_id]
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
        assert fail_orphaned_runs(instance) == []  # idempotent


@pytest.mark.slow  # a demo in a subprocess: ~18 s
def test_a_failing_demo_prints_one_line_and_exits_at_once(tmp_path):
    start = time.monotonic()
    out = subprocess.run(
        [str(BIN / "unibind"), "demo", "--data-root", str(tmp_path / "d"), "--max-per-class", "0"],
        env=_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "error: option demo_max_per_class must be a whole number of at least 1, got 0"
    ]
    assert time.monotonic() - start < 60
    debug = subprocess.run(
        [str(BIN / "unibind"), "--debug", "demo", "--max-per-class", "0"],
        env=_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert debug.returncode != 0 and "Traceback" in debug.stderr


@pytest.mark.slow  # the CLI in a subprocess: ~7 s
def test_an_unknown_benchmark_is_one_line_listing_the_known_ones(tmp_path):
    out = subprocess.run(
        [str(BIN / "unibind"), "manifest", "shapenetpart", str(tmp_path), "--out", str(tmp_path / "m.parquet")],
        env=_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and "unknown benchmark 'shapenetpart'" in out.stderr
    assert "shapenet_part" in out.stderr and "Traceback" not in out.stderr
    names = subprocess.run(
        [str(BIN / "unibind"), "benchmarks"], env=_env(tmp_path), cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert names.returncode == 0 and "shapenet_part" in names.stdout and "demo_audio" in names.stdout
