"""Where steps run: an executor chosen by name, and the compute tags of the steps that need a GPU.

`UNIBIND_EXECUTOR` (read when the code location loads) picks one of `EXECUTORS`: `multiprocess`
(default, one process per step on this machine), `in_process` (debugging), `k8s` (dagster-k8s: one
Kubernetes job per step; `pip install 'unibind[k8s]'`) or `ray` (dagster-ray: one Ray job per step;
`pip install 'unibind[ray]'`). Each executor's own options (namespace, image, Ray address…) come from the
run config's `execution` block or the deployment (docs/deployment.md); nothing is hard-wired here.

GPU steps carry both engines' request tags (assets/compute.py); an engine ignores the other's.
"""

from __future__ import annotations

import os

import dagster as dg

from unibind_core.core.errors import ConfigError
from unibind_core.core.registry import Registry

EXECUTOR_ENV = "UNIBIND_EXECUTOR"

EXECUTORS: Registry = Registry(
    "executor",
    {
        "multiprocess": "dagster:multiprocess_executor",
        "in_process": "dagster:in_process_executor",
        "k8s": "dagster_k8s:k8s_job_executor",
        "ray": "dagster_ray:ray_executor",
    },
)


def selected_executor(name: str | None = None) -> dg.ExecutorDefinition:
    """The executor named by `name` or `UNIBIND_EXECUTOR`; a clear error when its package is absent (each
    cluster executor's pip extra has the executor's name)."""
    name = name or os.environ.get(EXECUTOR_ENV, "multiprocess")
    try:
        return EXECUTORS[name]
    except ModuleNotFoundError as exc:
        raise ConfigError(f"{EXECUTOR_ENV}={name} needs {exc.name}: pip install 'unibind[{name}]'") from exc
