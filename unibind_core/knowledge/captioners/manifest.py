"""Captions that ship with the data (MSR-VTT's sentences, the demo world's): no model, no cache."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from unibind_core.knowledge.captioners.base import CaptionJob
from unibind_core.knowledge.captioners.config import CAPTION_PROMPT

if TYPE_CHECKING:
    from unibind_core.core.settings import Settings


class ManifestCaptioner:
    """`CAPTIONERS["manifest"]`: the manifest's `caption` column, refused whole if any row has none."""

    source = "manifest"

    def __init__(self, prompt: str = CAPTION_PROMPT) -> None:
        self.prompt = prompt

    @classmethod
    def from_settings(cls, settings: Settings) -> ManifestCaptioner:
        return cls(prompt=settings.caption.prompt)

    def caption(self, manifest: pa.Table, job: CaptionJob) -> list[str | None]:
        captions = manifest["caption"]
        missing = pc.sum(pc.is_null(captions)).as_py() or 0
        if missing:
            first = manifest.filter(pc.is_null(captions))["sample_id"][0].as_py()
            raise ValueError(
                f"the manifest captioner found no caption for {missing} samples under {job.root} "
                f"(first: {first!r}); pick a captioner that generates captions"
            )
        return captions.to_pylist()
