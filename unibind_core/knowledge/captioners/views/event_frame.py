"""An event recording as the colour event frame the backbones see (EventCLIP style, hot pixels removed)."""

from __future__ import annotations

from unibind_core.core.modality import Modality
from unibind_core.data.modalities import load_sample
from unibind_core.encoders.backbone.views import event_color_view
from unibind_core.knowledge.captioners.base import CaptionJob
from unibind_core.knowledge.captioners.views import (
    Identity,
    ViewContext,
    Viewed,
    source_hash,
    to_pil,
)


class EventFrameView:
    def identify(self, row: dict, job: CaptionJob, ctx: ViewContext) -> Identity:
        size, sigma = ctx.caption.render_size, ctx.views.hot_pixel_sigma
        return Identity(source_hash(job.root, row), f"event_frame:{size}:{sigma}", job.noun)

    def render(self, row: dict, job: CaptionJob, ctx: ViewContext) -> Viewed:
        options = {k: v for k, v in job.spec.loader_options.items() if k == "sensor_size"}
        counts = load_sample(Modality.EVENT, job.root, row, size=ctx.caption.render_size, **options)  # (2, S, S)
        return Viewed(images=(to_pil(event_color_view(counts[None], ctx.views)[0, 0]),))
