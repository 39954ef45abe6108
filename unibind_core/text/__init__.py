"""Text towers: the text side of the shared space, behind one Protocol, chosen by name."""
from __future__ import annotations

from typing import Protocol

import numpy as np

from unibind_core.registry import Registry


class TextEncoder(Protocol):
    name: str  # identifies the embedding space: part of every cache key
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray:
        """(N,) texts -> (N, dim) L2-normalized float32."""
        ...


TEXT_ENCODERS: Registry[type] = Registry(
    "text encoder",
    {
        "minilm": "unibind_core.text.minilm:MiniLMEncoder",
    },
)
