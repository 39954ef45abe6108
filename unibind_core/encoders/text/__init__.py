"""Text towers: the text side of the shared space, behind one Protocol, chosen by name."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from unibind_core.core.registry import Registry


class TextEncoder(Protocol):
    name: str  # identifies the embedding space: part of every cache key
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray:
        """(N,) texts -> (N, dim) L2-normalized float32."""
        ...


TEXT_ENCODERS: Registry[type] = Registry(
    "text encoder",
    {
        "minilm": "unibind_core.encoders.text.minilm:MiniLMEncoder",
    },
)


@lru_cache(maxsize=4)
def _configured(name: str, model: str | None, device: str, dtype: str, batch_size: int) -> TextEncoder:
    return TEXT_ENCODERS[name](model=model, device=device, dtype=dtype, batch_size=batch_size)


def configured_text_encoder(s: Any) -> TextEncoder:
    """The `text_encoder` of the settings (the demo's space), loaded once per process and configuration."""
    return _configured(s.text_encoder, s.text_model, s.device, s.dtype, s.batch_size)


def configured_text_encoder_id(s: Any) -> str:
    return f"{s.text_encoder}:{s.text_model or 'bundled'}"
