"""The documented entry points: `dagster asset materialize` against a real on-disk instance, and `unibind`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest
from instance_testing import instance_env

pytestmark = pytest.mark.slow  # the dagster CLI in subprocesses: ~2 min on 2 cores

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _env(tmp_path: Path) -> dict:
    return instance_env(tmp_path)


def _materialize(env: dict, select: str, partition: str | None = None) -> subprocess.CompletedProcess:
    config = {
        "resources": {
            "unibind": {
                "config": {
                    "demo_max_per_class": 5,  # data_root: UNIBIND_DATA_ROOT
                    "descriptions_per_category": 20,
                }
            }
        }
    }
    cmd = [
        str(BIN / "dagster"),
        "asset",
        "materialize",
        "-m",
        "pipelines.definitions",
        "--select",
        select,
        "--config-json",
        json.dumps(config),
    ] + (["--partition", partition] if partition else [])
    return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_dagster_cli_materializes_into_the_local_instance(tmp_path):
    env = _env(tmp_path)
    assert _materialize(env, "demo_world").returncode == 0
    out = _materialize(env, "benchmark_manifest,category_descriptions,data_captions,knowledge_base", "demo_event")
    assert out.returncode == 0, out.stderr[-2000:]
    kb = pq.read_table(tmp_path / "data" / "kb" / "tables" / "demo_event.parquet")
    assert kb.num_rows == 10 * 20 + len(
        [
            1
            for s in pq.read_table(tmp_path / "data" / "manifests" / "demo_event.parquet")["split"].to_pylist()
            if s == "train"
        ]
    )
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        done = instance.get_materialized_partitions(dg.AssetKey("knowledge_base"))
        assert done == {"demo_event"}
        records = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("knowledge_base"), "kb_valid"), limit=5
        )
        assert [r.status.value for r in records] == ["SUCCEEDED"]


def test_a_missing_upstream_names_what_to_materialize_first(tmp_path):
    env = _env(tmp_path)
    out = _materialize(env, "kb_text_embeddings", "demo_image")
    assert out.returncode != 0
    assert re.search(
        r"knowledge base not found at \S+/demo_image.parquet: materialize knowledge_base first", out.stdout + out.stderr
    )


def test_unibind_manifest_prints_counts_and_names_a_wrong_layout(tmp_path):
    from unibind_core.demo.world import build_dataset

    root = build_dataset("esc50", tmp_path / "esc50", seed=0, max_per_class=4)
    out = subprocess.run(
        [str(BIN / "unibind"), "manifest", "demo_audio", str(root), "--out", str(tmp_path / "m.parquet")],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
    )
    assert out.returncode == 0, out.stderr
    assert "demo_audio: 40 samples, 10 classes, 0 quarantined" in out.stdout
    assert pq.read_table(tmp_path / "m.parquet").num_rows == 40
    (root / "meta" / "esc50.csv").unlink()
    bad = subprocess.run(
        [str(BIN / "unibind"), "manifest", "demo_audio", str(root), "--out", str(tmp_path / "x.parquet")],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
    )
    assert bad.returncode == 2 and "esc50.csv" in bad.stderr
    assert not (tmp_path / "x.parquet").exists()
