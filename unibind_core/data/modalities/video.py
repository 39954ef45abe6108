"""Video loader: a clip -> `frames` frames sampled uniformly over its length, (T, C, S, S) in [0, 1].

Frames are decoded with PyAV, but only the chosen ones are converted to pixels, which is where the
time goes for full-resolution clips. Each frame is resized on its short side and centre-cropped, the
usual evaluation view for UCF-101-style clips; with `size` None the frames stay as decoded, (T, C, H, W)
uint8, for a backbone that resizes with its own model's preprocessing (encoders/backbone/base.py).
"""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import torch
import torch.nn.functional as F

from unibind_core.data.benchmarks.manifest import resolve_inside


def frame_indices(total: int, frames: int) -> np.ndarray:
    """`frames` indices spread evenly from the first to the last frame (repeats if the clip is short)."""
    return np.rint(np.linspace(0, total - 1, frames)).astype(np.int64)


_PLANAR_8BIT_YUV = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv411p", "yuv410p"}
_JPEG_RANGE = 2  # AVCOL_RANGE_JPEG: luma already spans 0..255


def to_gray(frame: av.VideoFrame) -> np.ndarray:
    """Frame -> (H, W) uint8 luma. For planar 8-bit YUV this is the Y plane, range-expanded exactly as
    swscale's gray conversion does; it skips building a scaler per frame, which dominates small clips."""
    if frame.format.name not in _PLANAR_8BIT_YUV:
        return frame.to_ndarray(format="gray")
    plane = frame.planes[0]
    y = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]
    if frame.format.name.startswith("yuvj") or frame.color_range == _JPEG_RANGE:
        return y.copy()
    return np.clip(np.rint((y.astype(np.float32) - 16.0) * (255.0 / 219.0)), 0, 255).astype(np.uint8)


def decode(path: Path, frames: int, channels: int) -> np.ndarray:
    """Clip -> (frames, H, W, C) uint8; raises ValueError naming the file if it cannot be decoded."""
    convert = to_gray if channels == 1 else (lambda f: f.to_ndarray(format="rgb24"))
    try:
        with av.open(str(path)) as container:
            decoded = list(container.decode(video=0))
            if not decoded:
                raise ValueError("no video frames")
            chosen = [convert(decoded[i]) for i in frame_indices(len(decoded), frames)]
    except (av.FFmpegError, ValueError, IndexError, OSError) as exc:
        raise ValueError(f"video {path} cannot be decoded ({exc})") from exc
    array = np.stack(chosen)
    return array[..., None] if array.ndim == 3 else array


def resize_crop(clip: torch.Tensor, size: int) -> torch.Tensor:
    """(T, C, H, W) -> (T, C, size, size): short side to `size`, then a centre crop."""
    h, w = clip.shape[-2:]
    scale = size / min(h, w)
    new_h, new_w = max(size, round(h * scale)), max(size, round(w * scale))
    if (new_h, new_w) != (h, w):
        clip = F.interpolate(clip, size=(new_h, new_w), mode="bilinear", antialias=True, align_corners=False)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return clip[..., top : top + size, left : left + size]


def load(root: Path, row: dict, frames: int = 8, size: int | None = 224, channels: int = 3) -> torch.Tensor:
    """Manifest row -> (frames, channels, size, size) float32 in [0, 1]; `size` None: (frames, channels, H, W)
    uint8 as decoded."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    path = resolve_inside(root, row["path"])
    if not path.is_file():
        raise ValueError(f"video {path} does not exist")
    pixels = torch.from_numpy(decode(path, frames, channels)).permute(0, 3, 1, 2)
    if size is None:
        return pixels.contiguous()
    clip = pixels.float() / 255.0
    return resize_crop(clip, size).clamp_(0.0, 1.0).contiguous()
