"""Modality views: a loader batch of one modality -> images an image-text backbone's image tower reads.

Every image-text backbone (open_clip, hf_clip) embeds a non-image modality the same way: a view turns
the loader's tensor into V images per sample, (B, *loader shape) -> (B, V, 3, H, W) in [0, 1]; the
backbone normalizes and resizes them for its model, embeds the B*V images and averages the V unit
vectors per sample (re-normalized). Views are chosen by name (VIEWS) per modality in `ViewConfig`, so a
new rendering is a new entry, never a branch in a backbone.

    image        (B, C, S, S)    -> (B, 1, 3, S, S)   grey replicated to RGB
    video_frames (B, T, C, S, S) -> (B, F, 3, S, S)   F = `video_frames` frames sampled evenly (mean embedding)
    event_color  (B, 2, S, S)    -> (B, 1, 3, S, S)   EventCLIP-style colour event image, hot pixels removed
    event_gray   (B, 2, S, S)    -> (B, 1, 3, S, S)   ON+OFF counts as a grey image, hot pixels removed
    thermal_gray (B, C, S, S)    -> (B, 1, 3, S, S)   grey replicated to 3 channels, `thermal_normalization`
    point_depth  (B, N, 3)       -> (B, V, 3, R, R)   V = `point_views` depth renders (PointCLIP-style)
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from unibind_core.errors import ConfigError
from unibind_core.options import option
from unibind_core.registry import Registry

THERMAL_NORMALIZATIONS = ("model", "minmax")


@dataclass(frozen=True)
class ViewConfig:
    """Which view embeds each modality through an image tower, and the views' own options."""

    image: str = option("image", "view of images (VIEWS)")
    video: str = option("video_frames", "view of videos (VIEWS): mean embedding of sampled frames")
    event: str = option("event_color", "view of event recordings (VIEWS): event_color or event_gray")
    thermal: str = option("thermal_gray", "view of thermal images (VIEWS)")
    point: str = option("point_depth", "view of point clouds (VIEWS): rendered depth views, averaged")
    video_frames: int = option(8, "frames sampled evenly from each clip (at most the loader's frames)")
    hot_pixel_sigma: float = option(10.0, "event pixels counting above mean + this many std are removed (EventCLIP)")
    thermal_normalization: str = option("model", "thermal intensities before the model's own normalization: "
                                        "model (as loaded) or minmax (each image stretched to [0, 1])")
    point_views: int = option(6, "depth views rendered per point cloud: the first N of +-x, +-y, +-z")
    point_size: int = option(128, "side of each rendered depth view in pixels")

    def __post_init__(self) -> None:
        for name in ("video_frames", "point_views", "point_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"option views.{name} must be at least 1, got {getattr(self, name)!r}")
        if not 1 <= self.point_views <= 6:
            raise ConfigError(f"option views.point_views must be 1..6, got {self.point_views}")
        if self.thermal_normalization not in THERMAL_NORMALIZATIONS:
            raise ConfigError(f"option views.thermal_normalization must be one of {THERMAL_NORMALIZATIONS}, "
                              f"got {self.thermal_normalization!r}")

    def view_of(self, modality: str) -> str:
        """The view name configured for `modality` (a field of this class), or ConfigError."""
        name = getattr(self, modality, None) if modality in VIEW_MODALITIES else None
        if not isinstance(name, str):
            raise ConfigError(f"image-text backbones have no view of modality {modality!r}; "
                              f"known: {', '.join(VIEW_MODALITIES)}")
        return VIEWS.require(name)


VIEW_MODALITIES = ("image", "video", "event", "thermal", "point")
View = Callable[[torch.Tensor, ViewConfig], torch.Tensor]


def to_rgb(x: torch.Tensor) -> torch.Tensor:
    """(..., C, H, W) with C in {1, 3} -> (..., 3, H, W): grey replicated."""
    if x.shape[-3] == 3:
        return x
    if x.shape[-3] != 1:
        raise ValueError(f"expected 1 or 3 channels, got {x.shape[-3]} (shape {tuple(x.shape)})")
    return x.expand(*x.shape[:-3], 3, *x.shape[-2:])


def image_view(x: torch.Tensor, cfg: ViewConfig) -> torch.Tensor:
    """(B, C, S, S) -> (B, 1, 3, S, S)."""
    return to_rgb(x.float())[:, None]


def sample_frames(total: int, frames: int) -> torch.Tensor:
    """`frames` indices spread evenly over `total` frames (all of them when fewer exist)."""
    if frames >= total:
        return torch.arange(total)
    return torch.linspace(0, total - 1, frames).round().long()


def video_frames_view(x: torch.Tensor, cfg: ViewConfig) -> torch.Tensor:
    """(B, T, C, S, S) -> (B, F, 3, S, S): frames sampled evenly, embedded one by one, then averaged."""
    return to_rgb(x.float()[:, sample_frames(x.shape[1], cfg.video_frames)])


def remove_hot_pixels(counts: torch.Tensor, sigma: float) -> torch.Tensor:
    """(B, P, H, W) event counts with pixels whose total count exceeds mean + sigma * std (over the
    pixels of that sample) zeroed: stuck sensor pixels otherwise dominate a normalized frame."""
    total = counts.sum(1, keepdim=True)  # (B, 1, H, W)
    flat = total.flatten(1)
    limit = flat.mean(1) + sigma * flat.std(1)  # (B,)
    return counts * (total <= limit[:, None, None, None])


def _scaled(x: torch.Tensor) -> torch.Tensor:
    """Each sample divided by its own maximum: (B, ...) -> values in [0, 1]."""
    peak = x.flatten(1).amax(1).clamp(min=1e-12)
    return x / peak.view(-1, *([1] * (x.dim() - 1)))


def event_color_view(x: torch.Tensor, cfg: ViewConfig) -> torch.Tensor:
    """(B, 2, S, S) OFF/ON counts -> (B, 1, 3, S, S): white background, ON events blue, OFF events red
    (EventCLIP's colour event frame), intensity by count after hot-pixel removal."""
    counts = _scaled(remove_hot_pixels(x.float(), cfg.hot_pixel_sigma))
    off, on = counts[:, 0], counts[:, 1]
    rgb = torch.stack([1 - on, 1 - on - off, 1 - off], dim=1).clamp(0, 1)  # ON -> blue, OFF -> red
    return rgb[:, None]


def event_gray_view(x: torch.Tensor, cfg: ViewConfig) -> torch.Tensor:
    """(B, 2, S, S) -> (B, 1, 3, S, S): ON + OFF counts as a grey image after hot-pixel removal."""
    gray = _scaled(remove_hot_pixels(x.float(), cfg.hot_pixel_sigma).sum(1, keepdim=True))
    return to_rgb(gray)[:, None]


def thermal_gray_view(x: torch.Tensor, cfg: ViewConfig) -> torch.Tensor:
    """(B, C, S, S) -> (B, 1, 3, S, S): intensity (channel mean) replicated to 3 channels; `minmax`
    stretches each image to [0, 1] first (ImageBind#37: the normalization moves LLVIP accuracy by 7 points)."""
    gray = x.float().mean(1, keepdim=True)
    if cfg.thermal_normalization == "minmax":
        low = gray.flatten(1).amin(1).view(-1, 1, 1, 1)
        gray = _scaled(gray - low)
    return to_rgb(gray)[:, None]


# (depth axis, (horizontal axis, vertical axis), sign): looking along -x, +x, -y, +y, -z, +z.
_POINT_VIEWS = ((0, (1, 2), 1.0), (0, (1, 2), -1.0), (1, (0, 2), 1.0), (1, (0, 2), -1.0),
                (2, (0, 1), 1.0), (2, (0, 1), -1.0))


def render_depth(points: torch.Tensor, view: int, size: int) -> torch.Tensor:
    """(B, N, 3) points in the unit sphere -> (B, size, size) depth image of one view in [0, 1]: each
    pixel is the nearest point's closeness (1 near the camera, 0 far, 0 where empty), z-buffered with
    scatter_reduce, then densified with a 3x3 max filter as PointCLIP does."""
    depth_axis, (u_axis, v_axis), sign = _POINT_VIEWS[view]
    b = points.shape[0]
    u = ((points[..., u_axis] + 1) / 2 * (size - 1)).round().long().clamp(0, size - 1)
    v = ((1 - (points[..., v_axis] + 1) / 2) * (size - 1)).round().long().clamp(0, size - 1)
    closeness = ((sign * points[..., depth_axis] + 1) / 2).clamp(0, 1) * 0.8 + 0.2  # (B, N) in [0.2, 1]
    cells = (torch.arange(b)[:, None] * size * size + v * size + u).flatten()
    image = torch.zeros(b * size * size).scatter_reduce(0, cells, closeness.flatten().float(), "amax")
    image = image.view(b, 1, size, size)
    return F.max_pool2d(image, 3, stride=1, padding=1)[:, 0]


def point_depth_view(x: torch.Tensor, cfg: ViewConfig) -> torch.Tensor:
    """(B, N, 3) -> (B, V, 3, R, R): V depth renders from the axis directions, grey replicated to RGB."""
    views = torch.stack([render_depth(x.float(), v, cfg.point_size) for v in range(cfg.point_views)], 1)
    return to_rgb(views[:, :, None])


VIEWS: Registry[View] = Registry("modality view", {
    "image": image_view, "video_frames": video_frames_view, "event_color": event_color_view,
    "event_gray": event_gray_view, "thermal_gray": thermal_gray_view, "point_depth": point_depth_view,
})


def apply_view(modality: str, batch: torch.Tensor, cfg: ViewConfig) -> torch.Tensor:
    """The configured view of `modality`: (B, *loader shape) -> (B, V, 3, H, W) in [0, 1]."""
    return VIEWS[cfg.view_of(modality)](batch, cfg)
