"""Modality views: what each turns a loader batch into, deterministically."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from unibind_core.core.errors import ConfigError
from unibind_core.encoders.backbone.views import (
    VIEWS,
    ViewConfig,
    apply_view,
    remove_hot_pixels,
    render_depth,
    sample_frames,
)

CFG = ViewConfig()


def test_every_view_yields_rgb_images_in_unit_range_deterministically():
    batches = {
        "image": torch.rand(2, 1, 8, 8),
        "video": torch.rand(2, 10, 3, 8, 8),
        "event": torch.rand(2, 2, 8, 8),
        "thermal": torch.rand(2, 1, 8, 8),
        "point": torch.rand(2, 64, 3) * 2 - 1,
    }
    for modality, x in batches.items():
        out = apply_view(modality, x, CFG)
        assert out.dim() == 5 and out.shape[0] == 2 and out.shape[2] == 3, modality
        assert out.min() >= 0 and out.max() <= 1, modality
        torch.testing.assert_close(apply_view(modality, x.clone(), CFG), out, rtol=0, atol=0)


def test_frames_are_sampled_evenly_first_and_last_included():
    assert sample_frames(16, 4).tolist() == [0, 5, 10, 15]
    assert sample_frames(3, 8).tolist() == [0, 1, 2]  # never more frames than the clip has
    video = torch.arange(10.0).view(1, 10, 1, 1, 1).expand(1, 10, 1, 2, 2) / 10
    out = apply_view("video", video, dataclasses.replace(CFG, video_frames=4))
    assert out.shape == (1, 4, 3, 2, 2)
    assert out[0, :, 0, 0, 0].tolist() == pytest.approx([0.0, 0.3, 0.6, 0.9])


def test_a_hot_pixel_is_removed_and_ordinary_ones_kept():
    counts = torch.ones(1, 2, 20, 20)
    counts[0, 1, 3, 4] = 500.0
    clean = remove_hot_pixels(counts, 10.0)
    assert clean[0, :, 3, 4].sum() == 0
    assert (clean[0, :, :3] == 1).all() and clean.sum() == counts.sum() - 501


def test_event_colour_image_shows_on_events_blue_and_off_events_red():
    x = torch.zeros(1, 2, 4, 4)
    x[0, 1, 0, 0] = 1.0  # ON
    x[0, 0, 3, 3] = 1.0  # OFF
    img = apply_view("event", x, CFG)[0, 0]
    assert img[:, 1, 1].tolist() == [1, 1, 1]  # no event: white
    assert img[:, 0, 0].tolist() == [0, 0, 1]  # ON: blue
    assert img[:, 3, 3].tolist() == [1, 0, 0]  # OFF: red
    gray = apply_view("event", x, dataclasses.replace(CFG, event="event_gray"))[0, 0]
    assert gray[0, 0, 0] == gray[0, 3, 3] == 1 and gray[0, 1, 1] == 0


def test_thermal_is_grey_replicated_and_minmax_stretches_it():
    x = torch.full((1, 1, 4, 4), 0.4)
    x[0, 0, 0, 0] = 0.6
    out = apply_view("thermal", x, CFG)[0, 0]
    assert torch.equal(out[0], out[1]) and torch.equal(out[1], out[2]) and out.max() == pytest.approx(0.6)
    stretched = apply_view("thermal", x, dataclasses.replace(CFG, thermal_normalization="minmax"))[0, 0]
    assert stretched.min() == 0 and stretched.max() == 1


def test_depth_views_see_the_nearest_point_of_each_pixel():
    points = torch.tensor([[[0.0, 0.0, 0.9], [0.0, 0.0, -0.9]]])  # one point in front of the other along z
    top, bottom = render_depth(points, 4, 9)[0], render_depth(points, 5, 9)[0]
    assert top.max() == pytest.approx((0.9 + 1) / 2 * 0.8 + 0.2)  # the +z point is the near one seen from +z
    assert bottom.max() == pytest.approx(top.max())  # and the -z point from -z
    assert (top > 0).sum() == 9  # one pixel densified by the 3x3 max filter
    out = apply_view("point", points, dataclasses.replace(CFG, point_views=3, point_size=16))
    assert out.shape == (1, 3, 3, 16, 16)


def test_view_names_and_options_are_checked():
    assert set(VIEWS) >= {"image", "video_frames", "event_color", "event_gray", "thermal_gray", "point_depth"}
    with pytest.raises(ConfigError, match="no view of modality 'audio'"):
        apply_view("audio", torch.rand(1, 100), CFG)
    with pytest.raises(ConfigError, match="unknown modality view 'event_rainbow'"):
        apply_view("event", torch.rand(1, 2, 4, 4), dataclasses.replace(CFG, event="event_rainbow"))
    with pytest.raises(ConfigError, match="thermal_normalization"):
        ViewConfig(thermal_normalization="zscore")
