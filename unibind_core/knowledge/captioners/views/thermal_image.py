"""A thermal crop as an image: intensity stretched to [0, 1] per image (thermal_gray, minmax)."""

from __future__ import annotations

import dataclasses

from unibind_core.core.modality import Modality
from unibind_core.data.modalities import load_sample
from unibind_core.encoders.backbone.views import thermal_gray_view
from unibind_core.knowledge.captioners.base import CaptionJob
from unibind_core.knowledge.captioners.views import (
    Identity,
    ViewContext,
    Viewed,
    source_hash,
    to_pil,
)


class ThermalImageView:
    def identify(self, row: dict, job: CaptionJob, ctx: ViewContext) -> Identity:
        return Identity(source_hash(job.root, row), f"thermal_image:{ctx.caption.render_size}", job.noun)

    def render(self, row: dict, job: CaptionJob, ctx: ViewContext) -> Viewed:
        gray = load_sample(Modality.THERMAL, job.root, row, size=ctx.caption.render_size, channels=1)  # (1, S, S)
        cfg = dataclasses.replace(ctx.views, thermal_normalization="minmax")
        return Viewed(images=(to_pil(thermal_gray_view(gray[None], cfg)[0, 0]),))
