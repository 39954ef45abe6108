"""3D-MNIST-style point clouds in ModelNet40's pre-sampled text layout (`modelnet40_normal_resampled`).

Each digit becomes a thin extruded slab: points land on inked pixels with probability proportional
to the ink, jittered inside the pixel, on the front or back face (normal (0, 0, +-1)), then the whole
cloud is tilted by a small random rotation so orientation is not a giveaway.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from unibind_core.demo.digits import DemoDigits, stroke_attributes
from unibind_core.storage.io import write_bytes

POINTS = 512
HALF_DEPTH = 0.15  # slab half-thickness, in units where the 8x8 grid spans [-1, 1]
MAX_TILT_DEG = 12.0  # per axis; small, so the digit stays readable face-on
TEST_FRACTION = 0.3


def rotation(angles: np.ndarray) -> np.ndarray:
    """(3,) radians about x, y, z -> (3, 3) rotation matrix Rz @ Ry @ Rx."""
    cx, cy, cz = np.cos(angles)
    sx, sy, sz = np.sin(angles)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def digit_cloud(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """(8, 8) ink in [0, 1] -> ((POINTS, 6) xyz+normal rows, tilt in degrees)."""
    p = image.reshape(-1).astype(np.float64) + 1e-6
    cells = rng.choice(image.size, size=POINTS, p=p / p.sum())
    row, col = np.divmod(cells, image.shape[1])
    jitter = rng.random((2, POINTS))
    x = (col + jitter[0]) / 4.0 - 1.0
    y = 1.0 - (row + jitter[1]) / 4.0  # image rows grow downwards, y grows upwards
    side = rng.choice([-1.0, 1.0], size=POINTS)
    z = side * HALF_DEPTH + rng.normal(0.0, 0.02, POINTS)
    normals = np.stack([np.zeros(POINTS), np.zeros(POINTS), side], axis=1)
    angles = np.deg2rad(rng.uniform(-MAX_TILT_DEG, MAX_TILT_DEG, 3))
    r = rotation(angles)
    xyz = np.stack([x, y, z], axis=1) @ r.T
    tilt = float(np.rad2deg(np.arccos(np.clip(r[2, 2], -1.0, 1.0))))  # angle between old and new z axis
    return np.concatenate([xyz, normals @ r.T], axis=1), tilt


def tilt_words(degrees: float) -> str:
    return "facing straight on" if degrees < 5 else ("tilted slightly" if degrees < 12 else "tilted noticeably")


def caption(image: np.ndarray, name: str, tilt: float) -> str:
    a = stroke_attributes(image)
    return f"a 3D point cloud of a {a['thickness']} handwritten {name}, {a['slant']}, {tilt_words(tilt)}"


def cloud_bytes(cloud: np.ndarray) -> bytes:
    """(P, 6) -> `x,y,z,nx,ny,nz` lines with 6 decimals, as in the real files; one format call per cloud."""
    line = ",".join(["%.6f"] * cloud.shape[1]) + "\n"
    return ((line * len(cloud)) % tuple(cloud.ravel().tolist())).encode("ascii")


def sample_ids(digits: DemoDigits) -> list[str]:
    """`seven_0001`, `seven_0002`, ... numbered per class in source order, as ModelNet numbers models."""
    counts: dict[str, int] = {}
    ids = []
    for i in range(len(digits)):
        name = digits.name(i)
        counts[name] = counts.get(name, 0) + 1
        ids.append(f"{name}_{counts[name]:04d}")
    return ids


def write(root: Path, digits: DemoDigits, rng: np.random.Generator) -> dict[str, str]:
    """Write the dataset under `root`; returns {relative path: caption}."""
    root = Path(root)
    ids = sample_ids(digits)
    is_test = rng.random(len(ids)) < TEST_FRACTION
    captions = {}
    for i, sample_id in enumerate(ids):
        cloud, tilt = digit_cloud(digits.images[i], rng)
        rel = f"{digits.name(i)}/{sample_id}.txt"
        write_bytes(cloud_bytes(cloud), root / rel)
        captions[rel] = caption(digits.images[i], digits.name(i), tilt)
    shape_names = sorted({digits.name(i) for i in range(len(digits))})
    write_bytes(("\n".join(shape_names) + "\n").encode(), root / "modelnet40_shape_names.txt")
    for split, mask in (("train", ~is_test), ("test", is_test)):
        listed = [sample_id for sample_id, keep in zip(ids, mask) if keep]
        write_bytes(("\n".join(listed) + "\n").encode(), root / f"modelnet40_{split}.txt")
    return captions
