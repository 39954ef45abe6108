"""Data captions (METHOD.md §1): one description per training sample from a `Captioner`.

The demo's captions ship in its manifest; multi-modal LLM captioners (BLIP-2 through transformers,
LLaMA-Adapter in its own environment) plug into the same Protocol.
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from unibind_core.registry import Registry

CAPTION_PROMPT = "Generate a detailed description of this {noun}"  # METHOD.md §1


class Captioner(Protocol):
    source: str  # the knowledge base's Source column, e.g. "manifest" or "mllm:blip2-opt-2.7b"

    def caption(self, manifest: pa.Table, root: Path, noun: str) -> list[str]:
        """One caption per manifest row, in row order."""
        ...


class ManifestCaptioner:
    """Captions that ship with the data (the demo world writes them beside each dataset)."""

    source = "manifest"

    def caption(self, manifest: pa.Table, root: Path, noun: str) -> list[str]:
        captions = manifest["caption"]
        missing = pc.sum(pc.is_null(captions)).as_py() or 0
        if missing:
            first = manifest.filter(pc.is_null(captions))["sample_id"][0].as_py()
            raise ValueError(f"the manifest captioner found no caption for {missing} samples under {root} "
                             f"(first: {first!r}); pick a captioner that generates captions")
        return captions.to_pylist()


CAPTIONERS: Registry[type] = Registry("captioner", {"manifest": ManifestCaptioner})


def caption_prompt(noun: str) -> str:
    return CAPTION_PROMPT.format(noun=noun)
