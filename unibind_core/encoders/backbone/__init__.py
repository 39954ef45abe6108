"""Frozen modality backbones behind one Protocol, chosen by name (BACKBONES).

A backbone maps a batch of loader tensors of one modality to unit vectors of one embedding space, and
texts to the same space through its text tower (the demo's space is the configured text tower's, which
its encoders were trained into). encoders/backbone/select.py resolves which backbone embeds a modality.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import torch

from unibind_core.core.registry import Registry


class Backbone(Protocol):
    id: str  # name, model and weights hash: part of every cache key built from its vectors
    name: str
    dim: int
    modalities: frozenset[str]  # what `embed` accepts

    def embed(self, modality: str, batch: torch.Tensor, meta: Mapping[str, Any] | None = None) -> torch.Tensor:
        """(B, *loader shape) -> (B, dim) L2-normalized float32 on the CPU. `meta`: the loader options the
        batch was decoded with (e.g. an audio clip's sample_rate); the backbone does its own preprocessing."""
        ...

    def embed_text(self, texts: list[str]) -> torch.Tensor:
        """(B,) texts -> (B, dim) L2-normalized float32, from the same model's text tower."""
        ...


BACKBONES: Registry[type] = Registry(
    "backbone",
    {
        "demo": "unibind_core.encoders.backbone.demo:DemoBackbone",
        "open_clip": "unibind_core.encoders.backbone.open_clip:OpenClipBackbone",
        "hf_clip": "unibind_core.encoders.backbone.hf_clip:HfClipBackbone",
        "clap": "unibind_core.encoders.backbone.clap:ClapBackbone",
        # in their own virtual environments, through unibind_core.encoders.external's runner
        "imagebind": "unibind_core.encoders.backbone.imagebind:ImageBindBackbone",
        "languagebind": "unibind_core.encoders.backbone.languagebind:LanguageBindBackbone",
    },
)
