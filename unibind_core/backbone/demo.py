"""The demo backbone: per-modality stems + projections into the text tower's space (ImageBind-shaped)."""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from unibind_core.backbone.stems import build_stem
from unibind_core.io import atomic_path


class DemoEncoders(nn.Module):
    """nn.ModuleDict of trunks and projections keyed by modality; one forward for all of them."""

    def __init__(self, modalities: Sequence[str], dim: int, width: int = 256) -> None:
        super().__init__()
        self.modalities = tuple(modalities)
        self.dim, self.width = dim, width
        self.trunks = nn.ModuleDict({m: build_stem(m, width) for m in modalities})
        self.projections = nn.ModuleDict({m: nn.Linear(width, dim) for m in modalities})

    def forward(self, modality: str, x: torch.Tensor) -> torch.Tensor:
        z = self.projections[modality](self.trunks[modality](x))
        return nn.functional.normalize(z, dim=-1)


def save_encoders(model: DemoEncoders, path: Path, extra: dict[str, str] | None = None) -> None:
    """safetensors with the architecture (and caller's string metadata) in the header."""
    meta = {"modalities": json.dumps(model.modalities), "dim": str(model.dim), "width": str(model.width),
            **(extra or {})}
    with atomic_path(path) as tmp:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp), metadata=meta)


def load_encoders(path: Path) -> DemoEncoders:
    from safetensors import safe_open

    if not Path(path).is_file():
        raise FileNotFoundError(f"demo backbone weights not found at {path}: materialize demo_backbone first")
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    model = DemoEncoders(json.loads(meta["modalities"]), int(meta["dim"]), int(meta["width"]))
    model.load_state_dict(load_file(str(path)))
    return model.eval()


class DemoBackbone:
    """Frozen demo encoders loaded from safetensors (the output of the demo_backbone asset)."""

    def __init__(self, weights: str, device: str = "cpu") -> None:
        self.model = load_encoders(Path(weights)).to(device)
        self.device = torch.device(device)
        self.name = f"demo:{Path(weights).stem}"
        self.dim = self.model.dim

    @torch.inference_mode()
    def embed(self, modality: str, batch: torch.Tensor) -> torch.Tensor:
        return self.model(modality, batch.to(self.device)).float().cpu()
