"""Frozen modality backbones behind one Protocol, chosen by name (BACKBONES).

A backbone maps a batch of loader tensors of one modality to unit vectors in the text tower's space.
"""
from __future__ import annotations

from typing import Protocol

import torch

from unibind_core.registry import Registry


class Backbone(Protocol):
    name: str
    dim: int

    def embed(self, modality: str, batch: torch.Tensor) -> torch.Tensor:
        """(B, *loader shape) -> (B, dim) L2-normalized."""
        ...


BACKBONES: Registry[type] = Registry("backbone", {"demo": "unibind_core.backbone.demo:DemoBackbone"})
