"""The image as is: the file's full resolution (the row's box cropped), so the model sees every detail."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from unibind_core.data.benchmarks.manifest import resolve_inside
from unibind_core.data.modalities.image import clamp_box
from unibind_core.knowledge.captioners.base import CaptionJob
from unibind_core.knowledge.captioners.views import Identity, ViewContext, Viewed, source_hash


def open_rgb(root: Path, row: dict, column: str = "path") -> Image.Image:
    path = resolve_inside(root, row[column])
    with Image.open(path) as img:
        img.load()
        box = row.get("box")
        if box is not None:
            img = img.crop(clamp_box(tuple(int(v) for v in box), img.width, img.height, path))
        return img.convert("RGB")


class ImageView:
    def identify(self, row: dict, job: CaptionJob, ctx: ViewContext) -> Identity:
        return Identity(source_hash(job.root, row), "image", job.noun)

    def render(self, row: dict, job: CaptionJob, ctx: ViewContext) -> Viewed:
        return Viewed(images=(open_rgb(job.root, row),))
