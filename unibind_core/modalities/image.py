"""Image loader, also the thermal loader: a manifest row -> (C, S, S) float32 in [0, 1].

Detection-derived benchmarks (LLVIP, RGB-T) classify crops, not whole frames (docs/method.md §5): the
row's `box` is cropped out before resizing; 16-bit infrared images keep their full range. Pillow's
decompression-bomb guard stays on: an absurdly large image is refused, not decoded.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from unibind_core.benchmarks.manifest import resolve_inside

MODES = {1: "L", 3: "RGB"}
HIGH_BIT_DEPTH = {"I;16": 65535.0, "I;16B": 65535.0, "I;16L": 65535.0, "I": 65535.0}  # mode -> full scale


def clamp_box(box: tuple[int, int, int, int], width: int, height: int, path: Path) -> tuple[int, int, int, int]:
    """Clip a box to the image; a box with nothing left inside is an error naming the file."""
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(width, box[2]), min(height, box[3])
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"box {box} lies outside the {width}x{height} image {path}")
    return x0, y0, x1, y1


def to_array(img: Image.Image, size: int, channels: int) -> np.ndarray:
    """Resize bilinearly and convert -> (size, size, channels) float32 in [0, 1].

    16-bit images (thermal cameras) are scaled by their full range instead of being clipped to 8 bits.
    """
    if img.mode in HIGH_BIT_DEPTH:
        gray = np.asarray(img, dtype=np.float32) / HIGH_BIT_DEPTH[img.mode]
        resized = Image.fromarray(np.clip(gray, 0.0, 1.0)).resize((size, size), Image.BILINEAR)
        return np.repeat(np.asarray(resized, dtype=np.float32)[..., None], channels, axis=2)
    resized = img.convert(MODES[channels]).resize((size, size), Image.BILINEAR)
    array = np.asarray(resized, dtype=np.float32) / 255.0
    return array.reshape(size, size, channels)


def load_image(path: Path, size: int, channels: int, box: tuple[int, int, int, int] | None = None
               ) -> torch.Tensor:
    """Image file -> (channels, size, size) float32 in [0, 1], cropped to `box` (x0, y0, x1, y1) first."""
    if channels not in MODES:
        raise ValueError(f"channels must be one of {sorted(MODES)}, got {channels}")
    try:
        with Image.open(path) as img:
            img.load()
            if box is not None:
                img = img.crop(clamp_box(tuple(int(v) for v in box), img.width, img.height, path))
            array = to_array(img, size, channels)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"cannot read image {path}: {exc}") from exc
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def load(root: Path, row: dict, size: int = 224, channels: int = 3) -> torch.Tensor:
    """Manifest row -> (channels, size, size); `row["box"]`, when set, is cropped out first."""
    box = row.get("box")
    return load_image(resolve_inside(root, row["path"]), size, channels,
                      box=None if box is None else tuple(int(v) for v in box))
