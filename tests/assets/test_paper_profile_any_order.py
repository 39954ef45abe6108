"""The README's paper-profile loop through the `dagster` CLI, one partition at a time, in the order `unibind
benchmarks` prints and in reverse (docs/architecture.md, "Partitions that read each other"): every benchmark
reaches benchmark_evaluation and results_table is built, on the tiny copies of tests/helpers/paper_datasets.py
(subsets of classes, some numbered by the dataset, not 0..C-1). The primary aligner is CentroBind, so the
Caltech-101 <-> N-Caltech101 heads read their partner's features: whichever comes first trains without the
partner member and names it; the second joins the first's features.

One process per order (tests/assets/paper_profile_cli.py), both at once: each on its own data root and
DAGSTER_HOME, so neither sees the other's outputs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.assets.test_paper_profile_end_to_end import paper_config
from unibind_core.data.benchmarks.spec import profile_benchmarks

REPO = Path(__file__).resolve().parents[2]
PAPER = profile_benchmarks("paper")
PAIR = ("caltech101", "ncaltech101")


def _start(tmp: Path, order: str) -> tuple[subprocess.Popen, Path]:
    home = tmp / "dagster_home"
    home.mkdir(parents=True)
    config = paper_config(tmp, tmp / "data", aligner="centrobind")
    (tmp / "config.json").write_text(json.dumps(config))
    env = {
        **os.environ,
        "UNIBIND_PROFILE": "paper",
        "UNIBIND_EXECUTOR": "in_process",
        "DAGSTER_HOME": str(home),
        "PYTHONPATH": str(REPO),
        "HF_HUB_OFFLINE": "1",
    }
    out = tmp / "out.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.assets.paper_profile_cli", str(tmp / "config.json"), order, str(out)],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, out


@pytest.mark.slow
def test_the_readme_loop_evaluates_every_benchmark_in_either_partition_order(tmp_path):
    runs = {order: _start(tmp_path / order, order) for order in ("printed", "reversed")}
    logs = {order: proc.communicate(timeout=900)[0] for order, (proc, _) in runs.items()}
    for order, (proc, out) in runs.items():
        assert proc.returncode == 0, (order, logs[order][-4000:])
        seen = json.loads(out.read_text())
        assert sorted(seen["order"]) == sorted(PAPER) and len(PAPER) == 13
        assert seen["order"] == (list(PAPER) if order == "printed" else list(PAPER)[::-1])
        assert [c for c in seen["calls"] if c["error"]] == [], (order, logs[order][-4000:])
        done = {(m["asset"], m["partition"]) for m in seen["materialized"]}
        assert {b for a, b in done if a == "benchmark_evaluation"} == set(PAPER), order
        assert {("retrieval_evaluation", None), ("results_table", None)} <= done, order
        assert all(c["passed"] for c in seen["checks"]), [c for c in seen["checks"] if not c["passed"]]
        heads = {m["partition"]: m["metadata"] for m in seen["materialized"] if m["asset"] == "aligned_heads"}
        first, second = sorted(PAIR, key=seen["order"].index)
        assert heads[first]["partners"] == [] and heads[first]["partners_missing"] == [second], order
        assert heads[second]["partners"] == [first] and heads[second]["partners_missing"] == [], order
        assert heads[second]["samples_with_partner"]["centrobind"] > 0
        results = pq.read_table(tmp_path / order / "data" / "results" / "results.parquet")
        assert sorted(results["benchmark"].to_pylist()) == sorted(PAPER), order
        print(order, "calls (s):", {c["partition"] or c["select"]: c["seconds"] for c in seen["calls"]})
