"""The event loader's opt-in outputs: per-pixel recency of the last event, and fixed-count windows."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from unibind_core.data.modalities import load_sample
from unibind_core.data.modalities.event import max_resize, windows
from unibind_core.data.modalities.events_format import decode_events, encode_events

# (x, y, t in µs, polarity) of a 4x4 sensor: (0, 0) fires ON twice, the others once.
STREAM = [(0, 0, 0, 1), (1, 0, 100, 0), (3, 3, 250, 0), (0, 0, 500, 1), (2, 3, 1000, 1)]


def write(path, events):
    x, y, t, p = (np.array(c) for c in zip(*events))
    path.write_bytes(encode_events(x, y, t, p))


def test_default_output_is_unchanged_and_timestamps_add_two_recency_channels(tmp_path):
    write(tmp_path / "e.bin", STREAM)
    counts = load_sample("event", tmp_path, {"path": "e.bin"}, size=4, sensor_size=4)
    timed = load_sample("event", tmp_path, {"path": "e.bin"}, size=4, sensor_size=4, timestamps=True)
    assert counts.shape == (2, 4, 4) and timed.shape == (4, 4, 4)
    assert torch.equal(timed[:2], counts)
    recency = timed[2:]  # (polarity, y, x): (t_last - 0) / (1000 - 0); -1 where no event of that polarity
    assert recency[1, 0, 0] == pytest.approx(0.5)  # the later of the two ON events at (0, 0)
    assert recency[0, 0, 1] == pytest.approx(0.1)
    assert recency[0, 3, 3] == pytest.approx(0.25)
    assert recency[1, 3, 2] == pytest.approx(1.0)
    assert recency[0, 0, 0] == -1 and recency[1, 0, 1] == -1 and (recency == -1).sum() == 2 * 16 - 4
    # 4 -> 2 pixels: a cell takes the latest event of the sensor pixels it covers
    small = load_sample("event", tmp_path, {"path": "e.bin"}, size=2, sensor_size=4, timestamps=True)
    assert small[2:, 0, 0].tolist() == pytest.approx([0.1, 0.5])
    assert small[2:, 1, 1].tolist() == pytest.approx([0.25, 1.0])


def test_max_resize_takes_the_maximum_of_each_covered_cell():
    x = np.arange(36, dtype=np.float32).reshape(1, 6, 6)
    np.testing.assert_array_equal(max_resize(x, 3)[0], x[0, 1::2, 1::2])  # 2x2 cells: their bottom-right
    up = max_resize(x, 12)  # upsampling: each input cell repeated
    np.testing.assert_array_equal(up[0], np.repeat(np.repeat(x[0], 2, 0), 2, 1))


def test_windows_split_exactly_at_n_events_in_time_order(tmp_path):
    rng = np.random.default_rng(0)
    order = rng.permutation(10)  # written out of time order: windows follow the timestamps
    t = np.arange(10) * 7
    events = {"x": np.arange(10)[order], "y": np.zeros(10, int)[order], "t": t[order], "p": (np.arange(10) % 2)[order]}
    parts = windows(events, 3, 8)
    assert [w["t"].tolist() for w in parts] == [[0, 7, 14], [21, 28, 35], [42, 49, 56]]  # t = 63 dropped
    assert [w["t"].tolist()[0] for w in windows(events, 3, 2)] == [0, 42]  # 2 of 3, first and last
    assert len(windows(events, 20, 8)) == 1 and len(windows(events, 20, 8)[0]["t"]) == 10  # shorter: one window

    write(tmp_path / "w.bin", [(int(x), 0, int(tt), int(p)) for x, tt, p in zip(events["x"], events["t"], events["p"])])
    assert sorted(decode_events((tmp_path / "w.bin").read_bytes())["t"].tolist()) == t.tolist()
    out = load_sample("event", tmp_path, {"path": "w.bin"}, size=10, sensor_size=10, window_events=3, max_windows=4)
    assert out.shape == (4, 2, 10, 10)
    for k in range(3):  # window k holds the events at x = 3k .. 3k + 2 (x equals the time rank here)
        fired = out[k].sum(0)[0].nonzero().flatten().tolist()
        assert fired == [3 * k, 3 * k + 1, 3 * k + 2]
    assert out[3].abs().sum() == 0  # padding window: no events
    timed = load_sample("event", tmp_path, {"path": "w.bin"}, size=10, sensor_size=10, window_events=3,
                        max_windows=4, timestamps=True)
    assert timed.shape == (4, 4, 10, 10) and torch.equal(timed[:, :2], out)
    assert (timed[3, 2:] == -1).all()
    # window 1: t = 21 (x 3, ON), 28 (x 4, OFF), 35 (x 5, ON); recency runs over the window, not the recording
    off, on = timed[1, 2, 0], timed[1, 3, 0]
    assert on[3] == 0 and off[4] == pytest.approx(0.5) and on[5] == 1 and off[3] == on[4] == -1
    again = load_sample("event", tmp_path, {"path": "w.bin"}, size=10, sensor_size=10, window_events=3,
                        max_windows=4, timestamps=True)
    assert torch.equal(again, timed)


def test_an_empty_recording_gives_empty_windows(tmp_path):
    (tmp_path / "empty.bin").write_bytes(b"")
    out = load_sample("event", tmp_path, {"path": "empty.bin"}, size=4, sensor_size=4, window_events=5,
                      max_windows=2, timestamps=True)
    assert out.shape == (2, 4, 4, 4) and out[:, :2].abs().sum() == 0 and (out[:, 2:] == -1).all()
