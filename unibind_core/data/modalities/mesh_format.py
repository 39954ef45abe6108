"""Object File Format (.off) meshes, as shipped in the original ModelNet archives.

Part of ModelNet40 carries a known defect: the first line runs the header together with the counts
(`OFF490 518 0` instead of `OFF` then `490 518 0`), so the counts are read from whatever follows `OFF`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _content_lines(text: str) -> list[str]:
    """Non-blank lines with `#` comments stripped (the OFF spec allows both anywhere)."""
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def _header(lines: list[str], path: Path) -> tuple[int, int, int]:
    """(number of vertices, number of faces, index of the first vertex line)."""
    if not lines or not lines[0].upper().startswith("OFF"):
        raise ValueError(f"{path} is not an OFF mesh: it does not start with 'OFF'")
    rest = lines[0][3:].split()  # non-empty for the run-together header defect
    counts, start = (rest, 1) if rest else (lines[1].split() if len(lines) > 1 else [], 2)
    if len(counts) < 2 or not all(c.isdigit() for c in counts[:2]):
        raise ValueError(f"{path}: OFF header has no vertex/face counts")
    return int(counts[0]), int(counts[1]), start


def _triangulate(face_lines: list[str], num_vertices: int, path: Path) -> np.ndarray:
    """Face lines `n i0 .. i(n-1) [colour]` -> (F, 3) triangles, fan-split per polygon size group."""
    rows = [line.split() for line in face_lines]
    sizes = np.array([int(r[0]) for r in rows], dtype=np.int64)
    if (sizes < 3).any():
        raise ValueError(f"{path}: a face has fewer than 3 vertices")
    triangles = []
    for n in np.unique(sizes):
        members = np.flatnonzero(sizes == n)
        idx = np.array([rows[i][1 : n + 1] for i in members], dtype=np.int64)  # (F_n, n)
        if idx.shape[1] != n:
            raise ValueError(f"{path}: a face lists fewer vertex indices than its size")
        fan = np.stack([np.repeat(idx[:, :1], n - 2, 1), idx[:, 1:-1], idx[:, 2:]], axis=-1)  # (F_n, n-2, 3)
        triangles.append(fan.reshape(-1, 3))
    faces = np.concatenate(triangles) if triangles else np.zeros((0, 3), np.int64)
    if faces.size and (faces.min() < 0 or faces.max() >= num_vertices):
        raise ValueError(f"{path}: a face indexes a vertex outside 0..{num_vertices - 1}")
    return faces


def read_off(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Parse an OFF mesh -> vertices (V, 3) float64 and triangle faces (F, 3) int64.

    Polygons are fan-triangulated; per-face colours are ignored. Raises ValueError naming the file.
    """
    path = Path(path)
    try:
        lines = _content_lines(path.read_text(encoding="ascii", errors="strict"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not a text OFF mesh ({exc})") from exc
    nv, nf, start = _header(lines, path)
    if len(lines) < start + nv + nf:
        raise ValueError(f"{path}: header promises {nv} vertices and {nf} faces, the file is shorter")
    try:
        vertices = np.array(" ".join(lines[start : start + nv]).split(), dtype=np.float64).reshape(nv, -1)[:, :3]
        faces = _triangulate(lines[start + nv : start + nv + nf], nv, path)
    except (ValueError, IndexError) as exc:
        raise ValueError(f"{path}: malformed OFF body ({exc})") from exc
    if vertices.shape[1] != 3 or not np.isfinite(vertices).all():
        raise ValueError(f"{path}: vertices are not finite xyz triples")
    return vertices, faces


def sample_surface(vertices: np.ndarray, faces: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` points uniformly over the mesh surface: faces drawn by area, then uniform barycentrics."""
    tri = vertices[faces]  # (F, 3, 3)
    areas = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    total = areas.sum()
    if not np.isfinite(total) or total <= 0:
        raise ValueError("mesh has no surface area to sample from")
    chosen = rng.choice(len(faces), size=n, p=areas / total)
    u, v = rng.random((2, n, 1))
    r = np.sqrt(u)  # sqrt makes the barycentric draw uniform over the triangle's area
    a, b, c = tri[chosen, 0], tri[chosen, 1], tri[chosen, 2]
    return (1 - r) * a + r * (1 - v) * b + r * v * c
