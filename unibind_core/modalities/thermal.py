"""Thermal loader: the row's `box` cropped out of the infrared image, resized to (C, S, S) in [0, 1].

Detection-derived benchmarks (LLVIP, RGB-T) classify crops, not whole frames (METHOD.md §4), so the
crop happens here, before resizing, through the shared image helper.
"""
from __future__ import annotations

from pathlib import Path

import torch

from unibind_core.benchmarks.manifest import resolve_inside
from unibind_core.modalities.image import load_image


def load(root: Path, row: dict, size: int = 224, channels: int = 3) -> torch.Tensor:
    """Manifest row -> (channels, size, size) float32 crop of `row["box"]` (whole image if no box)."""
    path = resolve_inside(root, row["path"])
    box = row.get("box")
    return load_image(path, size, channels, box=None if box is None else tuple(int(v) for v in box))
