"""Data captions (docs/method.md §1): one description per training sample from a `Captioner`.

Captioners are chosen by name (CAPTIONERS) and built from the settings (`Registry.from_settings`):
the demo's captions ship in its manifest; multi-modal LLM captioners (BLIP-2 through transformers,
LLaMA-Adapter in its own environment) plug into the same Protocol and read `CaptionConfig`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from unibind_core.options import option
from unibind_core.registry import Registry

if TYPE_CHECKING:
    from unibind_core.settings import Settings

CAPTION_PROMPT = "Generate a detailed description of this {noun}"  # the paper's prompt (docs/method.md §1)


@dataclass(frozen=True)
class CaptionConfig:
    """Options of a model captioner (device and dtype come from the pipeline settings)."""

    model: str | None = option(None, "captioning model: a hub id or a local folder", env="UNIBIND_CAPTIONER_MODEL")
    prompt: str = option(CAPTION_PROMPT, "prompt, with {noun} for the benchmark's noun (photo, sound, ...)")
    batch_size: int = option(16, "samples per generate() batch")
    max_new_tokens: int = option(60, "answer budget; captions are kept to 75 CLIP BPE tokens")


class Captioner(Protocol):
    """What the captions stage needs; optional classmethod `from_settings(settings)` builds it."""

    source: str  # the knowledge base's Source column, e.g. "manifest" or "mllm:blip2-opt-2.7b"

    def caption(self, manifest: pa.Table, root: Path, noun: str) -> list[str]:
        """One caption per manifest row, in row order."""
        ...


class ManifestCaptioner:
    """Captions that ship with the data (the demo world writes them beside each dataset)."""

    source = "manifest"

    def __init__(self, prompt: str = CAPTION_PROMPT) -> None:
        self.prompt = prompt

    @classmethod
    def from_settings(cls, settings: Settings) -> ManifestCaptioner:
        return cls(prompt=settings.caption.prompt)

    def caption(self, manifest: pa.Table, root: Path, noun: str) -> list[str]:
        captions = manifest["caption"]
        missing = pc.sum(pc.is_null(captions)).as_py() or 0
        if missing:
            first = manifest.filter(pc.is_null(captions))["sample_id"][0].as_py()
            raise ValueError(f"the manifest captioner found no caption for {missing} samples under {root} "
                             f"(first: {first!r}); pick a captioner that generates captions")
        return captions.to_pylist()


CAPTIONERS: Registry[type] = Registry("captioner", {"manifest": ManifestCaptioner})


def caption_prompt(noun: str, template: str = CAPTION_PROMPT) -> str:
    return template.format(noun=noun)
