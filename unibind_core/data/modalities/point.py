"""Point cloud loader: a `.txt` of point rows, an `.off` mesh or one cloud of an `.h5` array -> (N, 3).

Text rows may be comma-separated (ModelNet40 resampled: x,y,z,nx,ny,nz) or space-separated (ShapeNet-part:
x y z nx ny nz part-label); only the first three columns are used. ModelNet40's HDF5 variant stores many
clouds per file: the manifest path `ply_data_test0.h5#12` is cloud 12 of its `data` array (N, P, 3).
The format is chosen by the file's suffix from `POINT_FORMATS`.

Subsampling is seeded from the sample's relative path, so a sample always yields the same points no
matter which process, batch or order loads it.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from unibind_core.data.benchmarks.manifest import resolve_inside, split_member
from unibind_core.storage.io import content_hash
from unibind_core.data.modalities.mesh_format import read_off, sample_surface
from unibind_core.core.registry import Registry

# (file, index inside it or None, num_points, rng) -> (num_points, 3) points, not yet normalised
PointFormat = Callable[[Path, "int | None", int, np.random.Generator], np.ndarray]
H5_POINTS = "data"  # the (N, P, 3) array of ModelNet40's ply_data_*.h5 files


def path_rng(relative: str) -> np.random.Generator:
    """A generator seeded by a manifest path (stable across runs, machines and loading order)."""
    return np.random.default_rng(int(content_hash("points", relative)[:16], 16))


def read_xyz_text(path: Path) -> np.ndarray:
    """Comma- (or space-) separated point rows -> (P, 3) xyz; normals and extra columns are dropped."""
    try:
        lines = path.read_text(encoding="ascii").splitlines()
        if not any(line.strip() for line in lines):
            raise ValueError("the file is empty")
        delimiter = "," if "," in lines[0] else None
        points = np.loadtxt(lines, delimiter=delimiter, dtype=np.float64, ndmin=2)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"point file {path} is corrupt or unreadable ({exc})") from exc
    if points.shape[1] < 3:
        raise ValueError(f"point file {path} has no xyz rows (shape {points.shape})")
    if not np.isfinite(points[:, :3]).all():
        raise ValueError(f"point file {path} contains NaN or inf coordinates")
    return points[:, :3]


def subsample(points: np.ndarray, num_points: int, rng: np.random.Generator) -> np.ndarray:
    """Exactly `num_points` rows; with replacement only when the cloud is smaller than that."""
    replace = len(points) < num_points
    return points[rng.choice(len(points), size=num_points, replace=replace)]


def normalize(points: np.ndarray) -> np.ndarray:
    """Centre on the centroid and scale into the unit sphere (PointNet++'s `pc_normalize`)."""
    centred = points - points.mean(axis=0, keepdims=True)
    radius = float(np.linalg.norm(centred, axis=1).max())
    return centred / radius if radius > 0 else centred


def _single(path: Path, member: int | None) -> None:
    if member is not None:
        raise ValueError(f"{path} holds one sample; the manifest addresses #{member} inside it")


def text_points(path: Path, member: int | None, num_points: int, rng: np.random.Generator) -> np.ndarray:
    _single(path, member)
    return subsample(read_xyz_text(path), num_points, rng)


def mesh_points(path: Path, member: int | None, num_points: int, rng: np.random.Generator) -> np.ndarray:
    """Points on an OFF mesh's surface (Princeton's ModelNet40), area-weighted."""
    _single(path, member)
    vertices, faces = read_off(path)
    try:
        return sample_surface(vertices, faces, num_points, rng)
    except ValueError as exc:
        raise ValueError(f"mesh {path}: {exc}") from exc


@lru_cache(maxsize=2)
def _h5_clouds(path: str, mtime_ns: int) -> np.ndarray:
    """(N, P, 3) xyz of every cloud of one HDF5 file, read once while its rows are decoded one by one
    (a PointNet file holds 2,048 clouds, ~50 MB; the manifest lists them consecutively)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            data = f[H5_POINTS]
            if data.ndim != 3 or data.shape[2] < 3:
                raise ValueError(f"'{H5_POINTS}' of {path} has shape {data.shape}, not clouds of xyz points")
            return np.asarray(data[:, :, :3])
    except (OSError, KeyError) as exc:
        raise ValueError(f"point file {path} is corrupt or unreadable ({exc})") from exc


def h5_points(path: Path, member: int | None, num_points: int, rng: np.random.Generator) -> np.ndarray:
    """Cloud `member` of an HDF5 file's `data` array."""
    if member is None:
        raise ValueError(f"{path} holds many clouds; the manifest path must name one as <file>#<index>")
    try:
        clouds = _h5_clouds(str(path), Path(path).stat().st_mtime_ns)
    except OSError as exc:
        raise ValueError(f"point file {path} is corrupt or unreadable ({exc})") from exc
    if member >= len(clouds):
        raise ValueError(f"'{H5_POINTS}' of {path} has {len(clouds)} clouds, no cloud {member}")
    points = clouds[member].astype(np.float64)
    if not np.isfinite(points).all():
        raise ValueError(f"cloud {member} of {path} contains NaN or inf coordinates")
    return subsample(points, num_points, rng)


POINT_FORMATS: Registry[PointFormat] = Registry(
    "point file format",
    {".txt": text_points, ".off": mesh_points, ".h5": h5_points, ".hdf5": h5_points},
)


def load(root: Path, row: dict, num_points: int = 1024) -> torch.Tensor:
    """Manifest row -> (num_points, 3) float32 cloud, centred, inside the unit sphere."""
    file, member = split_member(row["path"])
    path = resolve_inside(root, file)
    if not path.is_file():
        raise ValueError(f"point file {path} does not exist")
    read_points = POINT_FORMATS[path.suffix.lower() or ".txt"]
    points = read_points(path, member, num_points, path_rng(row["path"]))
    return torch.from_numpy(normalize(points).astype(np.float32))
