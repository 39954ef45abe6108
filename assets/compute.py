"""Compute tags of the steps that run a model (inference or training): what they ask a cluster for.

Both engines' request tags are set; each ignores the other's, and the local executors ignore both, so
the same definitions run on a laptop, on Kubernetes (dagster-k8s) and on Ray (dagster-ray).
`UNIBIND_GPUS_PER_STEP` (default 1; 0 for none) is read when the code location loads.
"""

from __future__ import annotations

import json
import os

from unibind_core.core.errors import ConfigError

GPUS_ENV = "UNIBIND_GPUS_PER_STEP"


def gpu_step_tags(gpus: int | None = None) -> dict[str, str]:
    """Op tags asking Kubernetes (`dagster-k8s/config`: resources of the step's container) and Ray
    (`dagster-ray/config`: `num_gpus` of the step's job) for `gpus` GPUs; empty when 0."""
    if gpus is None:
        raw = os.environ.get(GPUS_ENV, "1")
        try:
            gpus = int(raw)
        except ValueError as exc:
            raise ConfigError(f"{GPUS_ENV} must be a whole number, got {raw!r}") from exc
    if gpus <= 0:
        return {}
    limits = {"nvidia.com/gpu": str(gpus)}
    k8s = {"container_config": {"resources": {"limits": limits, "requests": limits}}}
    return {"dagster-k8s/config": json.dumps(k8s), "dagster-ray/config": json.dumps({"num_gpus": gpus})}


GPU_STEP = gpu_step_tags()  # op_tags of every model-running asset
