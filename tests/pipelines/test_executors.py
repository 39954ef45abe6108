"""Executors chosen by name (local, Kubernetes, Ray) and the GPU requests of model steps, as each engine reads them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from assets.compute import gpu_step_tags
from pipelines.definitions import make_definitions
from pipelines.executors import EXECUTORS, selected_executor
from unibind_core.core.errors import ConfigError, UnknownNameError

REPO = Path(__file__).resolve().parents[2]
GPU_ASSETS = {"demo_backbone", "data_embeddings", "data_captions", "kb_text_embeddings", "aligned_heads"}


@pytest.mark.parametrize("name", ["multiprocess", "in_process", "k8s", "ray"])
def test_each_executor_builds_a_loadable_code_location(name):
    defs = make_definitions(executor=name)
    dg.Definitions.validate_loadable(defs)
    assert {defs.resolve_job_def(j).executor_def.name for j in ("unibind_all", "heads_job")} == {name}


def test_unknown_executor_and_missing_package_are_clear(monkeypatch):
    with pytest.raises(UnknownNameError, match="unknown executor 'slurm'; known: in_process, k8s, multiprocess, ray"):
        selected_executor("slurm")
    monkeypatch.setitem(EXECUTORS._entries, "k8s", "dagster_k8s_not_installed:k8s_job_executor")
    with pytest.raises(ConfigError, match=r"needs dagster_k8s_not_installed: pip install 'unibind\[k8s\]'"):
        selected_executor("k8s")


@pytest.mark.slow  # a code location per executor in subprocesses: ~7 s
def test_the_environment_picks_the_executor_of_the_code_location():
    env = {**os.environ, "UNIBIND_EXECUTOR": "k8s", "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from pipelines.definitions import defs; print(defs.resolve_job_def('unibind_all').executor_def.name)",
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "k8s"


def test_model_steps_request_a_gpu_from_kubernetes_and_ray():
    from dagster_k8s.job import get_user_defined_k8s_config
    from dagster_ray.configs import RayExecutionConfig

    defs = make_definitions()
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        for op in node.assets_def.node_def.iterate_op_defs():  # a sharded asset: plan, shard and assemble ops
            k8s = get_user_defined_k8s_config(op.tags).container_config.get("resources", {})
            ray = RayExecutionConfig.from_tags(op.tags).num_gpus
            if key.to_user_string() in GPU_ASSETS and not op.name.endswith("_plan"):  # planning runs no model
                assert k8s["limits"] == {"nvidia.com/gpu": "1"} and k8s["requests"] == {"nvidia.com/gpu": "1"}, op.name
                assert ray == 1, op.name
            else:
                assert k8s == {} and ray is None, op.name


def test_gpus_per_step_from_the_environment(monkeypatch):
    monkeypatch.setenv("UNIBIND_GPUS_PER_STEP", "2")
    assert json.loads(gpu_step_tags()["dagster-ray/config"]) == {"num_gpus": 2}
    monkeypatch.setenv("UNIBIND_GPUS_PER_STEP", "0")
    assert gpu_step_tags() == {}
    monkeypatch.setenv("UNIBIND_GPUS_PER_STEP", "one")
    with pytest.raises(ConfigError, match="UNIBIND_GPUS_PER_STEP must be a whole number"):
        gpu_step_tags()
