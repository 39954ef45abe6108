"""Aligned heads on disk: safetensors weights whose metadata names the aligner and its options, so a
head is loaded (and evaluation embeds through it) without knowing which strategy trained it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from unibind_core.method.aligners import ALIGNERS, options_of
from unibind_core.storage.io import INPUTS_KEY, atomic_path

ALIGNER_KEY, OPTIONS_KEY = "aligner", "aligner_options"


def save_aligned(path: Path, aligner: Any, module: nn.Module, inputs_key: str, extra: dict[str, str]) -> Path:
    with atomic_path(path) as tmp:
        save_file(
            {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()},
            str(tmp),
            metadata={
                INPUTS_KEY: inputs_key,
                ALIGNER_KEY: aligner.name,
                OPTIONS_KEY: json.dumps(options_of(aligner), sort_keys=True),
                **extra,
            },
        )
    return path


def metadata(path: Path) -> dict[str, str]:
    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata() or {})


def load_aligned(path: Path, dim: int) -> tuple[Any, nn.Module]:
    """(aligner, module in eval mode) of a saved head; a head without aligner metadata is an `lcl` head."""
    meta = metadata(path)
    aligner = ALIGNERS[meta.get(ALIGNER_KEY, "lcl")](**json.loads(meta.get(OPTIONS_KEY, "{}")))
    module = aligner.build(dim)
    module.load_state_dict(load_file(str(path)))
    return aligner, module.eval()


def project(module: nn.Module, x: np.ndarray, batch: int = 1 << 16) -> np.ndarray:
    """(N, D) frozen features -> (N, D) unit vectors through the module (on its device), float32 numpy."""
    device = next(module.parameters()).device
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            z = module(torch.from_numpy(np.ascontiguousarray(x[i : i + batch])).to(device))
            out.append(nn.functional.normalize(z.float(), dim=-1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, x.shape[1]), np.float32)
