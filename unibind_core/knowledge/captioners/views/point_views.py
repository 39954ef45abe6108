"""A point cloud as K depth renders from the axis directions (encoders/backbone/views.py point_depth,
PointCLIP style)."""

from __future__ import annotations

import dataclasses

from unibind_core.core.modality import Modality
from unibind_core.data.modalities import load_sample
from unibind_core.encoders.backbone.views import point_depth_view
from unibind_core.knowledge.captioners.base import CaptionJob
from unibind_core.knowledge.captioners.views import (
    Identity,
    ViewContext,
    Viewed,
    source_hash,
    to_pil,
)


class PointViews:
    def _points(self, job: CaptionJob) -> int:
        return int(job.spec.loader_options.get("num_points", 1024))

    def identify(self, row: dict, job: CaptionJob, ctx: ViewContext) -> Identity:
        c = ctx.caption
        return Identity(
            source_hash(job.root, row),
            f"point_views:{min(c.keyframes, 6)}:{c.render_size}:{self._points(job)}",
            job.noun,
        )

    def render(self, row: dict, job: CaptionJob, ctx: ViewContext) -> Viewed:
        c = ctx.caption
        points = load_sample(Modality.POINT, job.root, row, num_points=self._points(job))  # (N, 3), seeded per path
        cfg = dataclasses.replace(ctx.views, point_views=min(c.keyframes, 6), point_size=c.render_size)
        return Viewed(images=tuple(to_pil(v) for v in point_depth_view(points[None], cfg)[0]))
