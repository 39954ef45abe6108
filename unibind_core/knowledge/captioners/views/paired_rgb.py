"""Event and thermal data through their aligned RGB frame (the paper: BLIP-2 captions the paired photo).

`paired_path` is relative to the paired benchmark's root (N-Caltech101 -> Caltech-101) or to the
benchmark's own root (LLVIP and KAIST `visible/`); the thermal box is cropped from the aligned frame.
A row without a frame falls back to the modality's rendered view.
"""

from __future__ import annotations

from unibind_core.core.modality import Modality
from unibind_core.knowledge.captioners.base import CaptionJob
from unibind_core.knowledge.captioners.views import (
    CAPTION_VIEWS,
    Identity,
    ViewContext,
    Viewed,
    source_hash,
)
from unibind_core.knowledge.captioners.views.image import open_rgb

FALLBACK = {Modality.EVENT: "event_frame", Modality.THERMAL: "thermal_image"}  # modality -> view when there is no frame


class PairedRGBView:
    def _paired(self, row: dict, job: CaptionJob) -> bool:
        return row.get("paired_path") is not None and job.paired_root is not None

    def _fallback(self, job: CaptionJob):
        return CAPTION_VIEWS[FALLBACK.get(job.spec.modality, "image")]()

    def identify(self, row: dict, job: CaptionJob, ctx: ViewContext) -> Identity:
        if not self._paired(row, job):
            return self._fallback(job).identify(row, job, ctx)
        return Identity(source_hash(job.paired_root, row, "paired_path"), "image", "photo")  # = the image view

    def render(self, row: dict, job: CaptionJob, ctx: ViewContext) -> Viewed:
        if not self._paired(row, job):
            return self._fallback(job).render(row, job, ctx)
        return Viewed(images=(open_rgb(job.paired_root, row, "paired_path"),))
