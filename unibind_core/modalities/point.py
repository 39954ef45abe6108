"""Point cloud loader: a `.txt` of point rows or an `.off` mesh -> (N, 3).

Text rows may be comma-separated (ModelNet40 resampled: x,y,z,nx,ny,nz) or space-separated (ShapeNet-part:
x y z nx ny nz part-label); only the first three columns are used.

Subsampling is seeded from the sample's relative path, so a sample always yields the same points no
matter which process, batch or order loads it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from unibind_core.benchmarks.manifest import resolve_inside
from unibind_core.io import content_hash
from unibind_core.modalities.mesh_format import read_off, sample_surface


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


def load(root: Path, row: dict, num_points: int = 1024) -> torch.Tensor:
    """Manifest row -> (num_points, 3) float32 cloud, centred, inside the unit sphere."""
    path = resolve_inside(root, row["path"])
    if not path.is_file():
        raise ValueError(f"point file {path} does not exist")
    rng = path_rng(row["path"])
    if path.suffix.lower() == ".off":
        vertices, faces = read_off(path)
        try:
            points = sample_surface(vertices, faces, num_points, rng)
        except ValueError as exc:
            raise ValueError(f"mesh {path}: {exc}") from exc
    else:
        points = subsample(read_xyz_text(path), num_points, rng)
    return torch.from_numpy(normalize(points).astype(np.float32))
