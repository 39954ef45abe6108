"""The demo backbone: per-modality stems + projections into the text tower's space (ImageBind-shaped)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from unibind_core.core.errors import ConfigError
from unibind_core.core.torch_setup import resolve_device
from unibind_core.encoders.backbone.base import weights_fingerprint
from unibind_core.encoders.backbone.stems import build_stem
from unibind_core.encoders.text import (
    TextEncoder,
    configured_text_encoder,
    configured_text_encoder_id,
)
from unibind_core.storage.io import atomic_path


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
    meta = {
        "modalities": json.dumps(model.modalities),
        "dim": str(model.dim),
        "width": str(model.width),
        **(extra or {}),
    }
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
    """Frozen demo encoders loaded from safetensors (the output of the demo_backbone asset). They were
    trained into the configured text tower's space (MiniLM), so that tower embeds the demo's texts."""

    def __init__(self, weights: str, device: str = "cpu", text: TextEncoder | None = None) -> None:
        self.device = resolve_device(device)
        self.model = load_encoders(Path(weights)).to(self.device)
        self.name = f"demo:{Path(weights).stem}"
        self.id = f"demo:{weights_fingerprint(weights)}"
        self.dim = self.model.dim
        self.modalities = frozenset(self.model.modalities)
        self.text = text

    @torch.inference_mode()
    def embed(self, modality: str, batch: torch.Tensor, meta: Mapping[str, Any] | None = None) -> torch.Tensor:
        """(B, *loader shape) -> (B, dim); the demo encoders read loader tensors as they are."""
        return self.model(modality, batch.to(self.device)).float().cpu()

    def embed_text(self, texts: list[str]) -> torch.Tensor:
        if self.text is None:
            raise ValueError("this demo backbone was loaded without its text tower")
        return torch.from_numpy(self.text.encode(list(texts)))

    # --- the registry interface (encoders/backbone/select.py) ---
    @staticmethod
    def _weights(choice: Any, s: Any) -> Path:
        if choice.weights is None and s.profile != "demo":
            raise ConfigError(
                f"the demo backbone is trained on the demo world only, and the profile is "
                f"{s.profile!r}: set the backbone option to open_clip, hf_clip or clap (README, "
                f"Backbones)"
            )
        path = Path(choice.weights or s.layout.backbone)
        if not path.is_file():
            raise FileNotFoundError(f"demo backbone weights not found at {path}: materialize demo_backbone first")
        return path

    @classmethod
    def from_choice(cls, choice: Any, s: Any) -> DemoBackbone:
        """fp32 always: the demo encoders are small and their results are compared across runs."""
        return cls(str(cls._weights(choice, s)), s.device, configured_text_encoder(s))

    @classmethod
    def backbone_id(cls, choice: Any, s: Any) -> str:
        return f"demo:{weights_fingerprint(str(cls._weights(choice, s)))}"

    @classmethod
    def space_of(cls, choice: Any, s: Any) -> str:
        """The space of the text tower the encoders were pre-trained against (stage_backbone)."""
        return configured_text_encoder_id(s)

    @classmethod
    def options_record(cls, s: Any) -> str:
        return ""

    @classmethod
    def loader_options(cls, s: Any, modality: str) -> dict[str, Any]:
        """None beyond a benchmark's own: the demo encoders read the loaders' default tensors."""
        return {}

    @classmethod
    def text_tower(cls, choice: Any, s: Any, load: Any) -> TextEncoder:
        """The configured text tower, without loading the encoders (their training needs it first)."""
        return configured_text_encoder(s)
