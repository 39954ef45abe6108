"""Per-modality loaders: a manifest row -> the tensor a backbone expects.

A loader is `load(root: Path, row: dict, **loader_options) -> torch.Tensor`, where `root` is the
dataset root and `row` a manifest row (MANIFEST_SCHEMA). Output shapes (float32):

    image   (C, S, S) in [0, 1]            options: size, channels
    event   (2, S, S) per-polarity counts  options: size (events binned from the sensor grid), sensor_size;
                                           timestamps -> (4, S, S), window_events -> (K, 2|4, S, S) (event.py)
    audio   (L,) mono in [-1, 1]           options: sample_rate, num_samples
    point   (N, 3) centred, unit sphere    options: num_points
    video   (T, C, S, S) in [0, 1]         options: frames, size, channels
    thermal (C, S, S) crop of `box`        options: size, channels
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from unibind_core.core.registry import Registry
from unibind_core.core.modality import Modality

Loader = Callable[..., torch.Tensor]

LOADERS: Registry[Loader] = Registry(
    "modality loader",
    {
        Modality.IMAGE: "unibind_core.data.modalities.image:load",
        Modality.EVENT: "unibind_core.data.modalities.event:load",
        Modality.AUDIO: "unibind_core.data.modalities.audio:load",
        Modality.POINT: "unibind_core.data.modalities.point:load",
        Modality.VIDEO: "unibind_core.data.modalities.video:load",
        Modality.THERMAL: "unibind_core.data.modalities.image:load",  # an infrared image: the row's box cropped, then resized
    },
)


def load_sample(modality: str, root: Path, row: dict, **options: object) -> torch.Tensor:
    return LOADERS[modality](root, row, **options)
