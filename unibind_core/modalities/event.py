"""Event loader: an event recording -> (2, S, S) per-polarity event counts scaled to [0, 1].

Recordings are read by suffix: `.bin` is the N-Caltech101 40-bit stream, `.npz` an N-ImageNet archive.

Channel 0 counts OFF events (darker), channel 1 ON events (brighter), each on the sensor grid, then
the grid is area-resized to S x S so image-style backbones can read it (as ImageBind and UniBind do).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from scipy import sparse

from unibind_core.benchmarks.manifest import resolve_inside
from unibind_core.modalities.events_format import decode_events, read_npz_events

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


def load(root: Path, row: dict, size: int = 224, sensor_size: int | tuple[int, int] | None = None
         ) -> torch.Tensor:
    """Manifest row -> (2, size, size) float32, divided by its maximum so values lie in [0, 1]."""
    path = resolve_inside(root, row["path"])
    reader = EVENT_FORMATS.get(path.suffix.lower())
    if reader is None:
        raise ValueError(f"event recording {path}: unknown format (expected one of {', '.join(EVENT_FORMATS)})")
    try:
        events = reader(path)
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read event recording {path}: {exc}") from exc
    width, height = sensor_shape(events, sensor_size, path)
    counts = histogram(events, width, height)
    frame = area_resize(counts, size)
    peak = frame.max()
    return torch.from_numpy(frame / peak if peak > 0 else frame)
