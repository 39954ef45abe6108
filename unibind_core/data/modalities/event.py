"""Event loader: an event recording -> (2, S, S) per-polarity event counts scaled to [0, 1].

Recordings are read by suffix: `.bin` is the N-Caltech101 40-bit stream, `.npz` an N-ImageNet archive.

Channel 0 counts OFF events (darker), channel 1 ON events (brighter), each on the sensor grid, then
the grid is area-resized to S x S so image-style backbones can read it (as ImageBind and UniBind do).

Two options, off by default (so the default output, and every cache keyed by it, is unchanged), keep what
the counts lose; a view that needs them asks for them (encoders/backbone/views.py, `View.loader_options`):

    timestamps=True     (4, S, S)     channels 2, 3: recency of the last OFF / ON event of each pixel
    window_events=N     (K, C, S, S)  the recording cut into windows of N events, K = max_windows of them
                                      sampled evenly; C = 4 with timestamps, else 2; empty windows pad

Recency is (t_last - t_first) / (t_end - t_first) over the recording (or window): 1 for its last event,
0 for its first, -1 where a pixel saw none; an S x S pixel takes the latest of the sensor pixels it covers.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from scipy import sparse

from unibind_core.data.benchmarks.manifest import resolve_inside
from unibind_core.data.modalities.events_format import decode_events, read_npz_events

EVENT_FORMATS = {".bin": lambda path: decode_events(path.read_bytes()), ".npz": read_npz_events}


def sensor_shape(events: dict[str, np.ndarray], sensor_size: int | tuple[int, int] | None, path: Path
                 ) -> tuple[int, int]:
    """(width, height) from the option (one int means square), else from the largest coordinates seen."""
    if sensor_size is not None:
        width, height = (sensor_size, sensor_size) if isinstance(sensor_size, int) else sensor_size
        return int(width), int(height)
    if len(events["x"]) == 0:
        raise ValueError(f"event recording {path} holds no events, so its sensor size is unknown")
    return int(events["x"].max()) + 1, int(events["y"].max()) + 1


def histogram(events: dict[str, np.ndarray], width: int, height: int) -> np.ndarray:
    """(2, height, width) counts per polarity; events outside the grid are dropped."""
    x, y, p = (events[k].astype(np.int64) for k in ("x", "y", "p"))
    inside = (x < width) & (y < height)
    cells = (p[inside] * height + y[inside]) * width + x[inside]
    return np.bincount(cells, minlength=2 * height * width).reshape(2, height, width).astype(np.float32)


def area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) averaging operator of area resizing: output cell i is the mean of input cells
    floor(i * n_in / n_out) .. ceil((i + 1) * n_in / n_out) - 1, exactly as
    `torch.nn.functional.interpolate(mode="area")` (adaptive average pooling) defines it.

    Written as a matmul because torch's pooling kernel spins up its intra-op thread pool even for a
    34x34 grid, which measured 10x slower per sample whenever another process shares the CPU.
    """
    i = np.arange(n_out)
    start, end = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)
    cols = np.arange(n_in)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    return (inside / (end - start)[:, None]).astype(np.float32)


@lru_cache(maxsize=64)
def area_operator(n_in: int, n_out: int) -> sparse.csr_array:
    """`area_matrix` as a sparse matrix, built once per grid size (each output cell averages 1-3 inputs)."""
    return sparse.csr_array(area_matrix(n_in, n_out))


def area_resize(counts: np.ndarray, size: int) -> np.ndarray:
    """(C, H, W) -> (C, size, size) area resize, as sparse products: linear in H*W and outside BLAS, whose
    thread pool made the dense `A @ counts @ B.T` crawl whenever another process shares the CPU
    (bench/reader_throughput.py, 100k-event N-Caltech101 recordings on 2 busy cores: dense 39/s,
    dense with one BLAS thread 254/s, sparse 352/s)."""
    rows, cols = area_operator(counts.shape[1], size), area_operator(counts.shape[2], size)
    return np.stack([(cols @ (rows @ channel).T).T for channel in counts]).astype(np.float32)


def max_operator(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, span) input indices each output cell takes the maximum over: the cells of `area_matrix`,
    the last index repeated where a cell covers fewer than `span` inputs."""
    i = np.arange(n_out)
    start, end = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)
    span = int((end - start).max())
    return np.minimum(start[:, None] + np.arange(span), end[:, None] - 1)


def max_resize(x: np.ndarray, size: int) -> np.ndarray:
    """(C, H, W) -> (C, size, size): each output cell the maximum of the input cells it covers (the
    latest event of a cell, where `area_resize` would average recencies of pixels that never fired)."""
    rows, cols = max_operator(x.shape[1], size), max_operator(x.shape[2], size)
    return x[:, rows, :].max(2)[:, :, cols].max(3)


def recency(events: dict[str, np.ndarray], width: int, height: int) -> np.ndarray:
    """(2, height, width) recency of each pixel's last event per polarity in [0, 1], -1 where none."""
    x, y, p, t = (events[k].astype(np.int64) for k in ("x", "y", "p", "t"))
    out = np.full(2 * height * width, -1.0)
    if len(t):
        first, span = t.min(), max(int(t.max() - t.min()), 1)  # one instant: every event counts as the last
        inside = (x < width) & (y < height)
        cells = (p[inside] * height + y[inside]) * width + x[inside]
        np.maximum.at(out, cells, (t[inside] - first) / span)
    return out.reshape(2, height, width).astype(np.float32)


def planes(events: dict[str, np.ndarray], width: int, height: int, size: int, timestamps: bool) -> np.ndarray:
    """(2 or 4, size, size): counts divided by their maximum, then (with `timestamps`) the recencies."""
    frame = area_resize(histogram(events, width, height), size)
    peak = frame.max()
    frame = frame / peak if peak > 0 else frame
    if not timestamps:
        return frame
    return np.concatenate([frame, max_resize(recency(events, width, height), size)]).astype(np.float32)


def windows(events: dict[str, np.ndarray], window_events: int, max_windows: int) -> list[dict[str, np.ndarray]]:
    """The recording in time order cut into consecutive windows of exactly `window_events` events (a last,
    shorter run is dropped, as a fixed-count slicer does), at most `max_windows` of them spread evenly
    from the first to the last; a recording shorter than one window is one window of all its events."""
    order = np.argsort(events["t"], kind="stable")
    n = len(order) // window_events
    if n == 0:
        return [events]
    picks = np.linspace(0, n - 1, max_windows).round().astype(int) if n > max_windows else np.arange(n)
    return [{k: v[order[i * window_events:(i + 1) * window_events]] for k, v in events.items()} for i in picks]


def load(root: Path, row: dict, size: int = 224, sensor_size: int | tuple[int, int] | None = None,
         timestamps: bool = False, window_events: int = 0, max_windows: int = 8) -> torch.Tensor:
    """Manifest row -> (2, size, size) float32 counts divided by their maximum so values lie in [0, 1];
    (4, size, size) with `timestamps`; (max_windows, 2 or 4, size, size) with `window_events` > 0."""
    path = resolve_inside(root, row["path"])
    reader = EVENT_FORMATS.get(path.suffix.lower())
    if reader is None:
        raise ValueError(f"event recording {path}: unknown format (expected one of {', '.join(EVENT_FORMATS)})")
    try:
        events = reader(path)
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read event recording {path}: {exc}") from exc
    width, height = sensor_shape(events, sensor_size, path)
    if window_events <= 0:
        return torch.from_numpy(planes(events, width, height, size, timestamps))
    if max_windows < 1:
        raise ValueError(f"max_windows must be at least 1, got {max_windows}")
    frames = [planes(w, width, height, size, timestamps) for w in windows(events, window_events, max_windows)]
    out = np.zeros((max_windows, *frames[0].shape), np.float32)  # windows beyond the recording: no events
    if timestamps:
        out[:, 2:] = -1
    out[:len(frames)] = frames
    return torch.from_numpy(out)
