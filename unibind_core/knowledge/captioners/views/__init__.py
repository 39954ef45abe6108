"""What a captioning model is shown of one training sample, by modality (CAPTION_VIEWS, chosen by name).

A view has two steps: `identify` (cheap: the content hash of the bytes the model will see, and the
view id naming how they are rendered) gives the cache key without decoding anything; `render` (on a
cache miss) decodes into PIL images and/or a waveform. Views are deterministic: the same sample gives
the same pixels and samples every time (tests/core/knowledge/captioners). A view that shows the paired RGB frame
identifies itself as the plain `image` view of that frame, so Caltech-101 and N-Caltech101 share answers.

    image        the image file as is (the row's box cropped)                     -> 1 image
    paired_rgb   the aligned RGB frame (LLVIP/KAIST visible/, N-Caltech101 -> Caltech-101), else the
                 modality's rendered fallback (event_frame, thermal_image)        -> 1 image
    event_frame  the colour event frame (encoders/backbone/views.py event_color)           -> 1 image
    thermal_image  the infrared crop stretched to [0, 1] (thermal_gray, minmax)   -> 1 image
    keyframes    K frames spread evenly over the clip                             -> K images
    point_views  K depth renders of the cloud (encoders/backbone/views.py point_depth)     -> K images
    waveform     the mono waveform at 16 kHz (audio models)                       -> audio
    spectrogram  a log-mel spectrogram image of that waveform (image models)      -> 1 image
    auto         sounds: waveform when the model takes audio, else spectrogram
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from PIL import Image

from unibind_core.core.modality import Modality
from unibind_core.core.registry import Registry
from unibind_core.data.benchmarks.manifest import resolve_inside, split_member
from unibind_core.encoders.backbone.views import ViewConfig
from unibind_core.knowledge.captioners.base import CaptionJob
from unibind_core.knowledge.captioners.config import CaptionConfig
from unibind_core.storage.io import content_hash, file_hash


@dataclass(frozen=True)
class ViewContext:
    """Everything a view may depend on: the caption and backbone view options, and what the model takes."""

    caption: CaptionConfig
    views: ViewConfig
    accepts_audio: bool = False


@dataclass(frozen=True)
class Viewed:
    images: tuple[Image.Image, ...] = ()  # RGB
    audio: np.ndarray | None = None  # (L,) float32 mono in [-1, 1]
    sample_rate: int = 16000


@dataclass(frozen=True)
class Identity:
    sample_hash: str  # content hash of the bytes shown (file bytes, member, crop box)
    view_id: str  # view name and the options that shape what the model sees
    noun: str  # what the prompt calls it: the paired RGB frame is a "photo" whatever the benchmark


class CaptionView(Protocol):
    def identify(self, row: dict, job: CaptionJob, ctx: ViewContext) -> Identity: ...

    def render(self, row: dict, job: CaptionJob, ctx: ViewContext) -> Viewed: ...


def source_hash(root, row: dict, column: str = "path") -> str:
    """Content hash of a row's file (or paired file): its bytes, the member inside it, the crop box."""
    file, member = split_member(row[column])
    box = row.get("box")
    return content_hash(file_hash(resolve_inside(root, file)), str(member), str(list(box) if box is not None else None))


def to_pil(image: torch.Tensor) -> Image.Image:
    """(3, H, W) in [0, 1] -> an RGB PIL image (rounded, so the same tensor always gives the same pixels)."""
    array = (image.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return Image.fromarray(np.ascontiguousarray(array), "RGB")


def mosaic(images: tuple[Image.Image, ...]) -> Image.Image:
    """Several views as one near-square grid (models that take one image per request)."""
    n = len(images)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    w, h = images[0].size
    grid = Image.new("RGB", (cols * w, rows * h), "white")
    for i, im in enumerate(images):
        grid.paste(im.resize((w, h)), ((i % cols) * w, (i // cols) * h))
    return grid


CAPTION_VIEWS: Registry[type] = Registry(
    "caption view",
    {
        "image": "unibind_core.knowledge.captioners.views.image:ImageView",
        "paired_rgb": "unibind_core.knowledge.captioners.views.paired_rgb:PairedRGBView",
        "event_frame": "unibind_core.knowledge.captioners.views.event_frame:EventFrameView",
        "thermal_image": "unibind_core.knowledge.captioners.views.thermal_image:ThermalImageView",
        "keyframes": "unibind_core.knowledge.captioners.views.keyframes:KeyframesView",
        "point_views": "unibind_core.knowledge.captioners.views.point_views:PointViews",
        "waveform": "unibind_core.knowledge.captioners.views.sound:WaveformView",
        "spectrogram": "unibind_core.knowledge.captioners.views.sound:SpectrogramView",
        "auto": "unibind_core.knowledge.captioners.views.sound:AutoSoundView",
    },
)


def view_for(modality: Modality, cfg: CaptionConfig) -> CaptionView:
    """The configured view of `modality` (the option `caption.views.<modality>`)."""
    return CAPTION_VIEWS[getattr(cfg.views, Modality(modality))]()
