"""What the captions stage and the model captioners agree on.

The stage sees a `Captioner`: one caption (or None: flagged or unreadable, never a description) per
manifest row. Model captioners (BLIP-2, transformers VLMs, audio LMs, OpenAI-compatible servers) only
answer `CaptionRequest`s, batch by batch; the driver (driver.py) does caching, views, retries, length
and accounting once for all of them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa
from PIL import Image

from unibind_core.data.benchmarks.spec import BenchmarkSpec
from unibind_core.knowledge.llm.cache import Reply


@dataclass(frozen=True)
class CaptionJob:
    """Where one benchmark's samples are: its spec, its dataset root and, for paired data, the root that
    `paired_path` is relative to (the paired benchmark's, else the benchmark's own: LLVIP/KAIST `visible/`)."""

    spec: BenchmarkSpec
    root: Path
    paired_root: Path | None = None

    @property
    def noun(self) -> str:
        return self.spec.prompt_noun


@dataclass(frozen=True)
class CaptionRequest:
    """One question to a model: `images` (PIL, RGB) and/or `audio` ((L,) float32 mono at `sample_rate`)."""

    key: str  # cache key of the sample (and part, for multi_image=each)
    prompt: str
    images: tuple[Image.Image, ...] = ()
    audio: np.ndarray | None = None
    sample_rate: int = 16000
    attempt: int = 0  # 0: greedy; n > 0: the n-th retry after unusable answers (sampled, seeded by n)


@dataclass(frozen=True)
class ModelInfo:
    """What a model captioner takes: the driver renders views for it and builds its cache id."""

    accepts_audio: bool = False
    max_images: int = 1  # images per request (BLIP-2: 1; several images go as a mosaic or one each)
    extra: dict = field(default_factory=dict)  # anything that changes answers (max_new_tokens, ...)


class ModelCaptioner(Protocol):
    """A model that captions requests; `generate` yields each (request, reply) as it is answered."""

    name: str  # the CAPTIONERS name: "blip2", "hf_vlm", "hf_audio", "openai_vision"
    model: str  # hub id, folder or served model name
    info: ModelInfo
    batch_size: int

    def generate(self, requests: Sequence[CaptionRequest]) -> Iterator[tuple[CaptionRequest, Reply]]: ...


class Captioner(Protocol):
    """What the captions stage needs; optional `report()` (metadata) and classmethod `from_settings`."""

    source: str  # the knowledge base's Source column, e.g. "manifest" or "mllm:blip2-opt-2.7b"

    def caption(self, manifest: pa.Table, job: CaptionJob) -> list[str | None]:
        """One caption per manifest row, in row order; None for a row that has none (flagged, unreadable)."""
        ...


def model_source(model: str) -> str:
    """The Source column of a model's captions: `mllm:<last path part>`."""
    return f"mllm:{model.rstrip('/').rsplit('/', 1)[-1]}"
