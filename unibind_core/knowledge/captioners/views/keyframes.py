"""A video as K keyframes spread evenly over the clip (one request with all, or one each: caption.multi_image)."""

from __future__ import annotations

from unibind_core.core.modality import Modality
from unibind_core.data.modalities import load_sample
from unibind_core.knowledge.captioners.base import CaptionJob
from unibind_core.knowledge.captioners.views import (
    Identity,
    ViewContext,
    Viewed,
    source_hash,
    to_pil,
)


class KeyframesView:
    def identify(self, row: dict, job: CaptionJob, ctx: ViewContext) -> Identity:
        c = ctx.caption
        return Identity(source_hash(job.root, row), f"keyframes:{c.keyframes}:{c.render_size}", job.noun)

    def render(self, row: dict, job: CaptionJob, ctx: ViewContext) -> Viewed:
        c = ctx.caption
        clip = load_sample(
            Modality.VIDEO, job.root, row, frames=c.keyframes, size=c.render_size, channels=3
        )  # (K,3,S,S)
        return Viewed(images=tuple(to_pil(frame) for frame in clip))
