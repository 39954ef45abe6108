"""Modality views: a loader batch of one modality -> images an image-text backbone's image tower reads.

Every image-text backbone (open_clip, hf_clip) embeds a non-image modality the same way: a view turns
the loader's tensor into V images per sample, (B, *loader shape) -> (B, V, 3, H, W) in [0, 1]; the
backbone hands each image to its own model's preprocessing (resize, crop, normalize: encoders/backbone/base.py),
embeds the B*V images and averages the V unit vectors per sample (re-normalized). Decoded images at their
native size differ in size, so a batch may be a list of (*loader shape) tensors: `view_samples` views each
on its own. A loader's uint8 pixels (as decoded) read as value / 255. Views are chosen by name (VIEWS) per
modality in `ViewConfig`, so a new rendering is a new entry, never a branch in a backbone.

    image        (B, C, H, W)    -> (B, 1, 3, H, W)   grey replicated to RGB
    video_frames (B, T, C, H, W) -> (B, F, 3, H, W)   F = `video_frames` frames sampled evenly (mean embedding)
    event_color  (B, 2, S, S)    -> (B, 1, 3, S, S)   EventCLIP-style colour event image, hot pixels removed
    event_gray   (B, 2, S, S)    -> (B, 1, 3, S, S)   ON+OFF counts as a grey image, hot pixels removed
    event_time_surface (B, 4, S, S) -> (B, 1, 3, S, S) decayed time since the last ON / OFF event, and the count
    event_windows (B, K, C, S, S) -> (B, 1, 3, S, S)  fixed-count windows, each through `event_window_view`,
                                                      the K frames averaged
    thermal_gray (B, C, H, W)    -> (B, 1, 3, H, W)   grey replicated to 3 channels, `thermal_normalization`
    point_depth  (B, N, 3)       -> (B, V, 3, R, R)   V = `point_views` depth renders (PointCLIP-style)

A view that reads more of a recording than the loader gives by default (event timestamps, windows) says
so in `NeedsLoader.options`; the features stage merges those loader options into the benchmark's, so the
decoded inputs (and their cache key) change only when such a view is chosen (data/modalities/event.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from unibind_core.core.errors import ConfigError
from unibind_core.core.modality import Modality
from unibind_core.core.options import option
from unibind_core.core.registry import Registry

THERMAL_NORMALIZATIONS = ("model", "minmax")
EVENT_FRAME_VIEWS = ("event_color", "event_gray", "event_time_surface")  # what renders one event window


@dataclass(frozen=True)
class ViewConfig:
    """Which view embeds each modality through an image tower, and the views' own options."""

    image: str = option("image", "view of images (VIEWS)")
    video: str = option("video_frames", "view of videos (VIEWS): mean embedding of sampled frames")
    event: str = option(
        "event_color", "view of event recordings (VIEWS): event_color, event_gray, event_time_surface or event_windows"
    )
    thermal: str = option("thermal_gray", "view of thermal images (VIEWS)")
    point: str = option("point_depth", "view of point clouds (VIEWS): rendered depth views, averaged")
    video_frames: int = option(8, "frames sampled evenly from each clip (at most the loader's frames)")
    hot_pixel_sigma: float = option(10.0, "event pixels counting above mean + this many std are removed (EventCLIP)")
    time_surface_tau: float = option(
        0.5,
        "time-surface decay constant as a fraction of the recording's (or "
        "window's) duration: a pixel whose last event came that fraction t before "
        "the end shows exp(-t/tau)",
    )
    event_window_events: int = option(
        20000,
        "events per fixed-count window of event_windows (a recording with "
        "fewer is one window; a shorter last run is dropped)",
    )
    event_max_windows: int = option(
        8,
        "windows event_windows renders per recording, spread evenly from first to "
        "last (the decoded inputs hold them all: memory grows with it)",
    )
    event_window_view: str = option(
        "event_color",
        "how event_windows renders each window before the frames "
        "are averaged: event_color, event_gray or event_time_surface",
    )
    thermal_normalization: str = option(
        "model",
        "thermal intensities before the model's own normalization: "
        "model (as loaded) or minmax (each image stretched to [0, 1])",
    )
    point_views: int = option(6, "depth views rendered per point cloud: the first N of +-x, +-y, +-z")
    point_size: int = option(128, "side of each rendered depth view in pixels")

    def __post_init__(self) -> None:
        for name in ("video_frames", "point_views", "point_size", "event_window_events", "event_max_windows"):
            if getattr(self, name) < 1:
                raise ConfigError(f"option views.{name} must be at least 1, got {getattr(self, name)!r}")
        if not 1 <= self.point_views <= 6:
            raise ConfigError(f"option views.point_views must be 1..6, got {self.point_views}")
        if not self.time_surface_tau > 0:
            raise ConfigError(f"option views.time_surface_tau must be positive, got {self.time_surface_tau!r}")
        if self.event_window_view not in EVENT_FRAME_VIEWS:
            raise ConfigError(
                f"option views.event_window_view must be one of {EVENT_FRAME_VIEWS}, got {self.event_window_view!r}"
            )
        if self.thermal_normalization not in THERMAL_NORMALIZATIONS:
            raise ConfigError(
                f"option views.thermal_normalization must be one of {THERMAL_NORMALIZATIONS}, "
                f"got {self.thermal_normalization!r}"
            )

    def view_of(self, modality: str) -> str:
        """The view name configured for `modality` (a field of this class), or ConfigError."""
        name = getattr(self, modality, None) if modality in VIEW_MODALITIES else None
        if not isinstance(name, str):
            raise ConfigError(
                f"image-text backbones have no view of modality {modality!r}; known: {', '.join(VIEW_MODALITIES)}"
            )
        return VIEWS.require(name)


VIEW_MODALITIES = (Modality.IMAGE, Modality.VIDEO, Modality.EVENT, Modality.THERMAL, Modality.POINT)
View = Callable[[torch.Tensor, ViewConfig], torch.Tensor]


def to_rgb(x: torch.Tensor) -> torch.Tensor:
    """(..., C, H, W) with C in {1, 3} -> (..., 3, H, W): grey replicated."""
    if x.shape[-3] == 3:
        return x
    if x.shape[-3] != 1:
        raise ValueError(f"expected 1 or 3 channels, got {x.shape[-3]} (shape {tuple(x.shape)})")
    return x.expand(*x.shape[:-3], 3, *x.shape[-2:])


def unit(x: torch.Tensor) -> torch.Tensor:
    """Pixels -> float32 in [0, 1]: uint8 (decoded 8-bit images and frames) divided by 255, else as given."""
    return x.float() / 255.0 if x.dtype == torch.uint8 else x.float()


def image_view(x: torch.Tensor, cfg: ViewConfig) -> torch.Tensor:
    """(B, C, H, W) -> (B, 1, 3, H, W)."""
    return to_rgb(unit(x))[:, None]


def sample_frames(total: int, frames: int) -> torch.Tensor:
    """`frames` indices spread evenly over `total` frames (all of them when fewer exist)."""
    if frames >= total:
        return torch.arange(total)
    return torch.linspace(0, total - 1, frames).round().long()


def video_frames_view(x: torch.Tensor, cfg: ViewConfig) -> torch.Tensor:
    """(B, T, C, S, S) -> (B, F, 3, S, S): frames sampled evenly, embedded one by one, then averaged."""
    return to_rgb(unit(x[:, sample_frames(x.shape[1], cfg.video_frames)]))


def cool_pixels(counts: torch.Tensor, sigma: float) -> torch.Tensor:
    """(B, P, H, W) event counts -> (B, 1, H, W) bool, False where a pixel's total count exceeds
    mean + sigma * std over the pixels of its sample: a stuck sensor pixel."""
    total = counts.sum(1, keepdim=True)  # (B, 1, H, W)
    flat = total.flatten(1)
    limit = flat.mean(1) + sigma * flat.std(1)  # (B,)
    return total <= limit[:, None, None, None]


def remove_hot_pixels(counts: torch.Tensor, sigma: float) -> torch.Tensor:
    """(B, P, H, W) event counts with the hot pixels zeroed: they otherwise dominate a normalized frame."""
    return counts * cool_pixels(counts, sigma)


def _scaled(x: torch.Tensor) -> torch.Tensor:
    """Each sample divided by its own maximum: (B, ...) -> values in [0, 1]."""
    peak = x.flatten(1).amax(1).clamp(min=1e-12)
    return x / peak.view(-1, *([1] * (x.dim() - 1)))


def event_color_view(x: torch.Tensor, cfg: ViewConfig) -> torch.Tensor:
    """(B, 2, S, S) OFF/ON counts -> (B, 1, 3, S, S): white background, ON events blue, OFF events red
    (EventCLIP's colour event frame), intensity by count after hot-pixel removal."""
    counts = _scaled(remove_hot_pixels(x[:, :2].float(), cfg.hot_pixel_sigma))  # timestamps, if any, unused
    off, on = counts[:, 0], counts[:, 1]
    rgb = torch.stack([1 - on, 1 - on - off, 1 - off], dim=1).clamp(0, 1)  # ON -> blue, OFF -> red
    return rgb[:, None]


def event_gray_view(x: torch.Tensor, cfg: ViewConfig) -> torch.Tensor:
    """(B, 2, S, S) -> (B, 1, 3, S, S): ON + OFF counts as a grey image after hot-pixel removal."""
    gray = _scaled(remove_hot_pixels(x[:, :2].float(), cfg.hot_pixel_sigma).sum(1, keepdim=True))
    return to_rgb(gray)[:, None]


def event_time_surface_view(x: torch.Tensor, cfg: ViewConfig) -> torch.Tensor:
    """(B, 4, S, S) OFF/ON counts and recencies (data/modalities/event.py, `timestamps`) -> (B, 1, 3, S, S):
    red the ON surface, green the OFF surface, blue the grey count image. A surface pixel is
    exp(-(1 - recency) / tau): 1 where the pixel fired last in the recording, 0 where it never fired; hot
    pixels (by count) are cleared in all three. The count is the third channel because the surfaces say
    only how recently a pixel fired, not how often; their mean would repeat what the two channels hold."""
    if x.dim() != 4 or x.shape[1] < 4:
        raise ConfigError(
            f"the event_time_surface view reads counts and timestamps, (B, 4, S, S); got "
            f"{tuple(x.shape)}: decode with the event loader option timestamps=True"
        )
    x = x.float()
    keep = cool_pixels(x[:, :2], cfg.hot_pixel_sigma)  # (B, 1, S, S)
    recency = x[:, 2:4]
    surface = torch.where(recency >= 0, torch.exp((recency - 1) / cfg.time_surface_tau), 0.0) * keep
    count = _scaled((x[:, :2] * keep).sum(1, keepdim=True))
    return torch.cat([surface[:, 1:2], surface[:, 0:1], count], 1).clamp(0, 1)[:, None]


def event_windows_view(x: torch.Tensor, cfg: ViewConfig) -> torch.Tensor:
    """(B, K, C, S, S) fixed-count windows (data/modalities/event.py, `window_events`) -> (B, V, 3, S, S):
    each window rendered by `event_window_view`, the frames averaged over the windows holding events
    (padding windows of a short recording are left out; a recording with none keeps them all)."""
    if x.dim() != 5:
        raise ConfigError(
            f"the event_windows view reads (B, K, C, S, S) windows; got {tuple(x.shape)}: decode "
            f"with the event loader option window_events"
        )
    b, k = x.shape[:2]
    frames = VIEWS[cfg.event_window_view](x.flatten(0, 1), cfg)  # (B*K, V, 3, S, S)
    frames = frames.view(b, k, *frames.shape[1:])
    held = x[:, :, :2].flatten(2).sum(2) > 0  # (B, K)
    held = held | ~held.any(1, keepdim=True)
    weights = held.float() / held.sum(1, keepdim=True)
    return (frames * weights.view(b, k, 1, 1, 1, 1)).sum(1)


def thermal_gray_view(x: torch.Tensor, cfg: ViewConfig) -> torch.Tensor:
    """(B, C, S, S) -> (B, 1, 3, S, S): intensity (channel mean) replicated to 3 channels; `minmax`
    stretches each image to [0, 1] first (ImageBind#37: the normalization moves LLVIP accuracy by 7 points)."""
    gray = unit(x).mean(1, keepdim=True)
    if cfg.thermal_normalization == "minmax":
        low = gray.flatten(1).amin(1).view(-1, 1, 1, 1)
        gray = _scaled(gray - low)
    return to_rgb(gray)[:, None]


# (depth axis, (horizontal axis, vertical axis), sign): looking along -x, +x, -y, +y, -z, +z.
_POINT_VIEWS = (
    (0, (1, 2), 1.0),
    (0, (1, 2), -1.0),
    (1, (0, 2), 1.0),
    (1, (0, 2), -1.0),
    (2, (0, 1), 1.0),
    (2, (0, 1), -1.0),
)


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


@dataclass(frozen=True)
class NeedsLoader:
    """A view that reads more than the loader's default output: `options(cfg)` are the loader options it
    needs, merged into a benchmark's own by the features stage (the view itself is `render`)."""

    render: View
    options: Callable[[ViewConfig], dict[str, Any]]

    def __call__(self, x: torch.Tensor, cfg: ViewConfig) -> torch.Tensor:
        return self.render(x, cfg)


def _windows_options(cfg: ViewConfig) -> dict[str, Any]:
    inner = VIEWS[cfg.event_window_view]
    return {
        **(inner.options(cfg) if isinstance(inner, NeedsLoader) else {}),
        "window_events": cfg.event_window_events,
        "max_windows": cfg.event_max_windows,
    }


VIEWS: Registry[View] = Registry(
    "modality view",
    {
        "image": image_view,
        "video_frames": video_frames_view,
        "event_color": event_color_view,
        "event_gray": event_gray_view,
        "thermal_gray": thermal_gray_view,
        "point_depth": point_depth_view,
        "event_time_surface": NeedsLoader(event_time_surface_view, lambda cfg: {"timestamps": True}),
        "event_windows": NeedsLoader(event_windows_view, _windows_options),
    },
)


def apply_view(modality: str, batch: torch.Tensor, cfg: ViewConfig) -> torch.Tensor:
    """The configured view of `modality`: (B, *loader shape) -> (B, V, 3, H, W) in [0, 1]."""
    return VIEWS[cfg.view_of(modality)](batch, cfg)


def view_samples(modality: str, batch: torch.Tensor | list[torch.Tensor], cfg: ViewConfig) -> list[torch.Tensor]:
    """`apply_view` of a stacked batch, or of each sample of a list (images of different sizes) ->
    B tensors (V, 3, H, W) in [0, 1]."""
    if isinstance(batch, torch.Tensor):
        return list(apply_view(modality, batch, cfg).unbind(0))
    return [apply_view(modality, sample[None], cfg)[0] for sample in batch]


def view_loader_options(modality: str, cfg: ViewConfig) -> dict[str, Any]:
    """The loader options the configured view of `modality` needs beyond a benchmark's own ({} for the
    default views, so their decoded inputs are what they always were)."""
    if modality not in VIEW_MODALITIES:
        return {}
    view = VIEWS[cfg.view_of(modality)]
    return view.options(cfg) if isinstance(view, NeedsLoader) else {}
