"""Tiny models of each backbone family, built from configs with random weights and saved to local files,
so the tests load them through the same path users take (no hub, no download)."""
from __future__ import annotations

import json
from pathlib import Path

import torch

TINY_OPEN_CLIP = "unibind-tiny-clip"
TINY_OPEN_CLIP_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def register_tiny_open_clip(folder: Path) -> str:
    """A tiny ViT architecture known to open_clip by name (as ViT-B-32 is): a config JSON file."""
    import open_clip

    path = folder / f"{TINY_OPEN_CLIP}.json"
    path.write_text(json.dumps(TINY_OPEN_CLIP_CFG))
    open_clip.add_model_config(path)
    return TINY_OPEN_CLIP


def save_tiny_open_clip(folder: Path, seed: int = 0) -> Path:
    """Random weights of the tiny architecture as a state-dict checkpoint file (what `pretrained=` loads)."""
    import open_clip

    register_tiny_open_clip(folder)
    torch.manual_seed(seed)
    model = open_clip.create_model(TINY_OPEN_CLIP)
    path = folder / f"tiny-open-clip-{seed}.pt"
    torch.save(model.state_dict(), path)
    return path
