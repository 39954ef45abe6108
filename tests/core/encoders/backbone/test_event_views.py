"""The time-surface and fixed-count-window event views, the loader options they ask for, and their embedding."""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import pytest
import torch

from unibind_core.core.errors import ConfigError
from unibind_core.data.modalities import load_sample
from unibind_core.data.modalities.events_format import encode_events
from unibind_core.encoders.backbone.views import ViewConfig, apply_view, view_loader_options

SURFACE = ViewConfig(event="event_time_surface", time_surface_tau=0.5)
WINDOWS = ViewConfig(event="event_windows", event_window_events=3, event_max_windows=4)


def write(path, events):
    x, y, t, p = (np.array(c) for c in zip(*events))
    path.write_bytes(encode_events(x, y, t, p))


def test_the_time_surface_of_a_hand_built_stream_equals_hand_computed_values(tmp_path):
    # (x, y, t µs, polarity) on a 4x4 sensor; the recording runs from t = 0 to t = 1000
    write(tmp_path / "e.bin", [(0, 0, 0, 1), (1, 0, 100, 0), (3, 3, 250, 0), (0, 0, 500, 1), (2, 3, 1000, 1)])
    x = load_sample(
        "event", tmp_path, {"path": "e.bin"}, size=4, sensor_size=4, **view_loader_options("event", SURFACE)
    )
    img = apply_view("event", x[None], SURFACE)[0, 0]  # (3, 4, 4): ON surface, OFF surface, count
    assert img.shape == (3, 4, 4)
    assert img[0, 0, 0] == pytest.approx(math.exp(-0.5 / 0.5))  # last ON at (0, 0): t = 500, 500 µs before the end
    assert img[0, 3, 2] == pytest.approx(1.0)  # the very last event
    assert img[1, 0, 1] == pytest.approx(math.exp(-0.9 / 0.5))  # OFF at t = 100
    assert img[1, 3, 3] == pytest.approx(math.exp(-0.75 / 0.5))
    assert img[1, 0, 0] == 0 and img[0, 0, 1] == 0 and img[:2, 1:3].abs().sum() == 0  # no event: 0
    assert img[2, 0, 0] == 1 and img[2, 0, 1] == img[2, 3, 3] == img[2, 3, 2] == pytest.approx(0.5)  # counts 2, 1
    slow = apply_view("event", x[None], dataclasses.replace(SURFACE, time_surface_tau=2.0))[0, 0]
    assert slow[1, 0, 1] == pytest.approx(math.exp(-0.9 / 2.0))  # tau is a view option: no re-decoding
    torch.testing.assert_close(apply_view("event", x[None].clone(), SURFACE)[0, 0], img, rtol=0, atol=0)


def test_the_time_surface_clears_hot_pixels_and_refuses_counts_without_timestamps():
    x = torch.zeros(1, 4, 20, 20)
    x[:, :2] = 1.0  # every pixel fires once of each polarity ...
    x[0, 1, 5, 6] = 500.0  # ... but one is stuck
    x[:, 2:] = 0.5
    img = apply_view("event", x, SURFACE)[0, 0]
    assert img[:, 5, 6].abs().sum() == 0
    assert torch.allclose(img[:2, 0, 0], torch.full((2,), math.exp(-1.0))) and img[2, 0, 0] == 1
    with pytest.raises(ConfigError, match="timestamps=True"):
        apply_view("event", torch.rand(1, 2, 4, 4), SURFACE)


def _stream(n: int) -> list[tuple[int, int, int, int]]:
    rng = np.random.default_rng(3)
    return [(int(rng.integers(0, 8)), int(rng.integers(0, 8)), 10 * i, int(rng.integers(0, 2))) for i in range(n)]


@pytest.mark.parametrize("inner", ["event_color", "event_gray", "event_time_surface"])
def test_the_windows_view_averages_the_frames_of_the_windows_holding_events(tmp_path, inner):
    write(tmp_path / "e.bin", _stream(10))  # 3 windows of 3 events (the 10th dropped), 1 padding window
    cfg = dataclasses.replace(WINDOWS, event_window_view=inner)
    options = view_loader_options("event", cfg)
    assert options == {"window_events": 3, "max_windows": 4, **({"timestamps": True} if "surface" in inner else {})}
    x = load_sample("event", tmp_path, {"path": "e.bin"}, size=8, sensor_size=8, **options)
    assert x.shape == (4, 4 if "surface" in inner else 2, 8, 8)
    out = apply_view("event", x[None], cfg)
    per_window = torch.stack(
        [apply_view("event", x[k][None], dataclasses.replace(cfg, event=inner))[0] for k in range(3)]
    )  # each window alone through the inner view: (3, 1, 3, 8, 8)
    assert out.shape == (1, 1, 3, 8, 8)
    torch.testing.assert_close(out[0], per_window.mean(0))  # the padding window is left out of the mean
    assert not torch.allclose(out[0], per_window[0])
    torch.testing.assert_close(apply_view("event", x[None].clone(), cfg), out, rtol=0, atol=0)


def test_a_recording_shorter_than_a_window_is_one_window_and_hot_pixels_stay_removed(tmp_path):
    # 16x16 pixels (with fewer, one outlier cannot lie 10 std above the mean): one OFF event each, and a stuck pixel
    events = [(7, 7, 100 + i, 1) for i in range(400)] + [(x, y, 9000, 0) for x in range(16) for y in range(16)]
    write(tmp_path / "e.bin", events)
    cfg = dataclasses.replace(WINDOWS, event_window_events=100_000)
    x = load_sample("event", tmp_path, {"path": "e.bin"}, size=16, sensor_size=16, **view_loader_options("event", cfg))
    assert x[0].sum() > 0 and x[1:].abs().sum() == 0  # all events in the first window
    whole = load_sample("event", tmp_path, {"path": "e.bin"}, size=16, sensor_size=16)
    torch.testing.assert_close(apply_view("event", x[None], cfg), apply_view("event", whole[None], ViewConfig()))
    img = apply_view("event", x[None], cfg)[0, 0]
    assert img[:, 7, 7].tolist() == [1, 1, 1]  # the stuck pixel removed: white, as where nothing fired
    assert img[:, 0, 0].tolist() == [1, 0, 0]  # an ordinary OFF pixel at full strength: red


def test_view_options_are_checked_and_the_default_views_ask_the_loader_for_nothing():
    assert all(view_loader_options(m, ViewConfig()) == {} for m in ("image", "video", "event", "thermal", "point"))
    assert view_loader_options("audio", SURFACE) == {}
    assert view_loader_options("event", SURFACE) == {"timestamps": True}
    for bad in (
        {"time_surface_tau": 0.0},
        {"event_window_events": 0},
        {"event_max_windows": 0},
        {"event_window_view": "event_windows"},
        {"event_window_view": "image"},
    ):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            ViewConfig(**bad)
    with pytest.raises(ConfigError, match="window_events"):
        apply_view("event", torch.rand(2, 2, 4, 4), WINDOWS)


@pytest.mark.parametrize(
    "cfg",
    [
        SURFACE,
        WINDOWS,
        dataclasses.replace(WINDOWS, event_window_view="event_time_surface"),
        ViewConfig(event="event_gray"),
    ],
    ids=["surface", "windows", "windows-surface", "gray"],
)
def test_open_clip_embeds_an_event_recording_through_each_event_view(tmp_path, open_clip_backbone, cfg):
    write(tmp_path / "e.bin", _stream(40))
    x = load_sample("event", tmp_path, {"path": "e.bin"}, size=32, sensor_size=8, **view_loader_options("event", cfg))
    backbone = copy.copy(open_clip_backbone)  # the fixture is shared: view it differently in a copy
    backbone.views = cfg
    z = backbone.embed("event", x[None])
    assert z.shape == (1, backbone.dim) and torch.isfinite(z).all()
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(1))
    torch.testing.assert_close(backbone.embed("event", x[None].clone()), z, rtol=0, atol=0)
    default = open_clip_backbone.embed(
        "event", load_sample("event", tmp_path, {"path": "e.bin"}, size=32, sensor_size=8)[None]
    )
    assert not torch.allclose(z, default)  # another view, another vector


def test_the_features_stage_decodes_what_the_configured_view_needs(tmp_path, tiny_open_clip, open_clip_backbone):
    """demo_event through stage_features with the time surface: the loader gets timestamps=True from the view,
    the vectors are the backbone's on that decoding, and the default views' decoding is untouched."""
    from unibind_core.core.settings import Settings
    from unibind_core.encoders.backbone.select import loader_options
    from unibind_core.stages.common import read_manifest
    from unibind_core.stages.data import BenchmarkInputs, stage_features, stage_manifest, stage_world
    from unibind_core.storage.tables import FEATURES

    name, weights = tiny_open_clip
    s = Settings(
        data_root=tmp_path,
        profile="demo",
        demo_max_per_class=2,
        backbone="open_clip",
        backbone_model=name,
        backbone_weights=str(weights),
        device="cpu",
        batch_size=8,
        views=SURFACE,
    )
    stage_world(s)
    stage_manifest(s, "demo_event")
    assert loader_options(s, "event") == {"timestamps": True}
    assert loader_options(dataclasses.replace(s, backbone="demo"), "event") == {}  # the demo's inputs as before
    assert loader_options(dataclasses.replace(s, views=ViewConfig()), "event") == {}
    plain, timed = BenchmarkInputs.of(s, "demo_event"), BenchmarkInputs.of(s, "demo_event", {"timestamps": True})
    assert plain.key != timed.key and dict(timed.spec.loader_options) == {"size": 32, "timestamps": True}

    stage_features(s, "demo_event")
    rows, vectors = FEATURES.read_vectors(s.layout.features("demo_event"), ("sample_id",))
    manifest = read_manifest(s, "demo_event").to_pylist()
    first = next(r for r in manifest if r["sample_id"] == rows["sample_id"][0].as_py())
    x = load_sample("event", timed.root, first, size=32, timestamps=True)
    backbone = copy.copy(open_clip_backbone)
    backbone.views = SURFACE
    np.testing.assert_allclose(vectors[0], backbone.embed("event", x[None])[0].numpy(), atol=1e-5)
    default = dataclasses.replace(s, views=ViewConfig())
    assert not stage_features(default, "demo_event").reused  # another view, another features key
    _, colour = FEATURES.read_vectors(default.layout.features("demo_event"), ("sample_id",))
    assert not np.allclose(colour[0], vectors[0])
