"""Image loader, also the thermal loader: a manifest row -> the decoded image, (C, H, W).

Two outputs, by the `size` option:

    size=S (default 224)  (C, S, S) float32 in [0, 1], squashed bilinearly: what the demo encoders read
    size=None             (C, H, W) as decoded, no resize: uint8 for 8-bit files, float32 in [0, 1] for
                          16-bit ones. The image-text backbones ask for this (encoders/backbone/base.py,
                          DECODED_AT_NATIVE_SIZE) and resize with their own model's preprocessing.

Decoding is what torchvision's `pil_loader` (and so CLIP_benchmark) does: Pillow's `convert("RGB")` (grey
replicated, RGBA's alpha dropped, CMYK converted by Pillow) and no EXIF transpose (pixels as stored). One
deliberate difference: 16-bit images (thermal cameras) are scaled by their full range, where `convert`
would clip them to 8 bits (a white image). Detection-derived benchmarks (LLVIP, RGB-T) classify crops, not
whole frames (docs/method.md §5): the row's `box` is cropped out first. Pillow's decompression-bomb guard
stays on: an absurdly large image is refused, not decoded.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from unibind_core.data.benchmarks.manifest import resolve_inside

MODES = {1: "L", 3: "RGB"}
HIGH_BIT_DEPTH = {"I;16": 65535.0, "I;16B": 65535.0, "I;16L": 65535.0, "I": 65535.0}  # mode -> full scale


def clamp_box(box: tuple[int, int, int, int], width: int, height: int, path: Path) -> tuple[int, int, int, int]:
    """Clip a box to the image; a box with nothing left inside is an error naming the file."""
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(width, box[2]), min(height, box[3])
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"box {box} lies outside the {width}x{height} image {path}")
    return x0, y0, x1, y1


def native_array(img: Image.Image, channels: int) -> np.ndarray:
    """-> (H, W, channels) as decoded: uint8, or float32 in [0, 1] for 16-bit images (full range)."""
    if img.mode in HIGH_BIT_DEPTH:
        gray = np.clip(np.asarray(img, dtype=np.float32) / HIGH_BIT_DEPTH[img.mode], 0.0, 1.0)
        return np.repeat(gray[..., None], channels, axis=2)
    array = np.asarray(img.convert(MODES[channels]), dtype=np.uint8)
    return array.reshape(*array.shape[:2], channels)


def to_array(img: Image.Image, size: int | None, channels: int) -> np.ndarray:
    """Resize bilinearly and convert -> (size, size, channels) float32 in [0, 1]; `size` None: `native_array`.

    16-bit images (thermal cameras) are scaled by their full range instead of being clipped to 8 bits.
    """
    if size is None:
        return native_array(img, channels)
    if img.mode in HIGH_BIT_DEPTH:
        gray = np.asarray(img, dtype=np.float32) / HIGH_BIT_DEPTH[img.mode]
        resized = Image.fromarray(np.clip(gray, 0.0, 1.0)).resize((size, size), Image.BILINEAR)
        return np.repeat(np.asarray(resized, dtype=np.float32)[..., None], channels, axis=2)
    resized = img.convert(MODES[channels]).resize((size, size), Image.BILINEAR)
    array = np.asarray(resized, dtype=np.float32) / 255.0
    return array.reshape(size, size, channels)


def load_image(path: Path, size: int | None, channels: int, box: tuple[int, int, int, int] | None = None
               ) -> torch.Tensor:
    """Image file -> (channels, size, size) float32 in [0, 1] (`size` None: `native_array`'s (channels, H, W)),
    cropped to `box` (x0, y0, x1, y1) first."""
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


def load(root: Path, row: dict, size: int | None = 224, channels: int = 3) -> torch.Tensor:
    """Manifest row -> (channels, size, size), or (channels, H, W) as decoded with `size` None; `row["box"]`,
    when set, is cropped out first."""
    box = row.get("box")
    return load_image(resolve_inside(root, row["path"]), size, channels,
                      box=None if box is None else tuple(int(v) for v in box))
