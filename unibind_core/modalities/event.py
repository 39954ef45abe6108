"""Event loader: an N-Caltech101 recording -> (2, S, S) per-polarity event counts scaled to [0, 1].

Channel 0 counts OFF events (darker), channel 1 ON events (brighter), each on the sensor grid, then
the grid is area-resized to S x S so image-style backbones can read it (as ImageBind and UniBind do).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from unibind_core.benchmarks.manifest import resolve_inside
from unibind_core.modalities.events_format import decode_events


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


def load(root: Path, row: dict, size: int = 224, sensor_size: int | tuple[int, int] | None = None
         ) -> torch.Tensor:
    """Manifest row -> (2, size, size) float32, divided by its maximum so values lie in [0, 1]."""
    path = resolve_inside(root, row["path"])
    try:
        events = decode_events(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read event recording {path}: {exc}") from exc
    width, height = sensor_shape(events, sensor_size, path)
    counts = histogram(events, width, height)
    frame = area_matrix(height, size) @ counts @ area_matrix(width, size).T
    peak = frame.max()
    return torch.from_numpy(frame / peak if peak > 0 else frame)
