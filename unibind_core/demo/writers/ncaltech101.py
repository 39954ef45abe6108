"""Event recordings in N-Caltech101's layout and binary format: `Caltech101/<class>/image_0001.bin`.

As in N-MNIST, a 34x34 sensor watches the digit (upscaled to 24x24) while it moves through three
saccades of ~100 ms along a small triangle. Each pixel fires like a DVS pixel: an event whenever its
log intensity has moved one contrast threshold away from the level at its last event (polarity = sign
of the change). About 5% uniformly random noise events are added. Files are named exactly as the
Caltech-101 writer names the same digit's photo, so the pair lines up.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from unibind_core.data.modalities.events_format import BYTES_PER_EVENT, encode_events
from unibind_core.demo.digits import DemoDigits, stroke_attributes
from unibind_core.demo.writers.caltech101 import sample_names, upscale
from unibind_core.storage.io import write_bytes

ROOT_NAME = "Caltech101"
SENSOR = 34
DIGIT = 24
STEPS_PER_SACCADE = 16
SACCADE_US = (95_000, 105_000)  # each saccade's duration, drawn per recording
TRIANGLE = np.array([[0.0, 0.0], [1.5, 2.6], [3.0, 0.0], [0.0, 0.0]])  # (dx, dy) vertices, pixels
BACKGROUND = 0.12
NOISE_FRACTION = 0.05
EPS = 0.02  # keeps log intensity finite on black
DENSITY = ((2200, "sparse"), (2700, "moderate"))  # event counts below which a recording is so called
PHRASINGS = (
    "an event camera recording of a handwritten {name} over three saccades, {density} events",
    "a neuromorphic sensor recording of a {thickness}-stroked handwritten {name}, {density} events",
    "events from a saccading camera looking at a handwritten {name}, {density} events",
)


def trajectory(rng: np.random.Generator) -> np.ndarray:
    """(3 * STEPS_PER_SACCADE + 1, 2) sensor-frame (dx, dy) offsets, the triangle centred and jittered."""
    vertices = TRIANGLE * rng.uniform(0.8, 1.2) + rng.normal(0.0, 0.2, TRIANGLE.shape)
    vertices[-1] = vertices[0]
    vertices -= vertices[:-1].mean(axis=0)
    frac = np.linspace(0.0, 1.0, STEPS_PER_SACCADE, endpoint=False)[:, None]
    legs = [a + (b - a) * frac for a, b in zip(vertices[:-1], vertices[1:])]
    return np.concatenate(legs + [vertices[-1:]])


def shift_matrices(offsets: np.ndarray, n: int) -> np.ndarray:
    """(T,) sub-pixel shifts -> (T, n, n) linear-interpolation operators, edges held constant.

    Row i of operator k samples the signal at i - offsets[k]; shifting a frame is then a matmul.
    """
    src = np.arange(n)[None, :] - offsets[:, None]
    lo = np.floor(src)
    frac = (src - lo)[..., None]
    lo = lo.astype(np.intp)[..., None]
    left, right = (np.zeros((len(offsets), n, n), dtype=np.float32) for _ in range(2))
    np.put_along_axis(left, np.clip(lo, 0, n - 1), (1 - frac).astype(np.float32), axis=2)
    np.put_along_axis(right, np.clip(lo + 1, 0, n - 1), frac.astype(np.float32), axis=2)
    return left + right  # summed, not put into one array: at a clamped edge both weights hit one cell


def frames(scene: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(H, W) scene seen at each sub-pixel (dx, dy) offset -> (T, H, W), bilinear (separable)."""
    h, w = scene.shape
    rows, cols = shift_matrices(offsets[:, 1], h), shift_matrices(offsets[:, 0], w)
    return rows @ scene @ cols.transpose(0, 2, 1)


def dvs_events(
    log_frames: np.ndarray, threshold: float, step_us: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-pixel threshold crossings of log intensity -> (x, y, t, p) with p in {-1, +1}.

    A pixel's reference level, in threshold units q, only moves when the signal z is a whole
    threshold away: q_k = clip(q_{k-1}, floor(z_k), ceil(z_k)). The loop runs over time steps on
    whole-sensor arrays; each change of q is that many events of its sign.
    """
    z = (log_frames - log_frames[0]) / threshold
    low, high = np.floor(z), np.ceil(z)
    levels = np.zeros_like(z)
    for k in range(1, len(z)):  # clip via max/min with out=: no temporaries in the hot loop
        np.minimum(np.maximum(levels[k - 1], low[k], out=levels[k]), high[k], out=levels[k])
    change = np.diff(levels, axis=0).astype(np.int32).ravel()
    flat = np.flatnonzero(change)
    n = np.abs(change[flat])
    step, pixel = np.divmod(np.repeat(flat, n), z.shape[1] * z.shape[2])
    yy, xx = np.divmod(pixel, z.shape[2])
    t = (step + rng.random(len(step))) * step_us
    return xx, yy, t, np.repeat(np.sign(change[flat]), n)


def record(image: np.ndarray, rng: np.random.Generator) -> bytes:
    """(8, 8) digit -> one encoded N-Caltech101 recording, sorted by time."""
    scene = np.full((SENSOR, SENSOR), BACKGROUND, dtype=np.float32)  # float32: half the memory traffic
    start = (SENSOR - DIGIT) // 2
    scene[start : start + DIGIT, start : start + DIGIT] += upscale(image, DIGIT) * rng.uniform(0.6, 0.9)
    step_us = rng.uniform(*SACCADE_US) / STEPS_PER_SACCADE
    log_frames = np.log(frames(scene, trajectory(rng)) + EPS)
    x, y, t, p = dvs_events(log_frames, rng.uniform(0.22, 0.32), step_us, rng)
    n_noise = int(round(NOISE_FRACTION * len(x)))
    duration = 3 * STEPS_PER_SACCADE * step_us
    x = np.concatenate([x, rng.integers(0, SENSOR, n_noise)])
    y = np.concatenate([y, rng.integers(0, SENSOR, n_noise)])
    t = np.concatenate([t, rng.uniform(0, duration, n_noise)]).astype(np.int64)
    p = np.concatenate([p, rng.choice([-1.0, 1.0], n_noise)])
    order = np.argsort(t, kind="stable")
    return encode_events(x[order], y[order], t[order], p[order])


def density_word(n_events: int) -> str:
    for limit, word in DENSITY:
        if n_events < limit:
            return word
    return "dense"


def caption(image: np.ndarray, name: str, n_events: int, rng: np.random.Generator) -> str:
    thickness = stroke_attributes(image)["thickness"]
    phrasing = PHRASINGS[int(rng.integers(len(PHRASINGS)))]
    return phrasing.format(name=name, thickness=thickness, density=density_word(n_events))


def write(root: Path, digits: DemoDigits, rng: np.random.Generator) -> dict[str, str]:
    """Write the dataset under `root`; returns {relative path: caption} for every recording."""
    root = Path(root)
    captions = {}
    for i, (folder, stem) in enumerate(sample_names(digits)):
        relative = f"{ROOT_NAME}/{folder}/{stem}.bin"
        data = record(digits.images[i], rng)
        write_bytes(data, root / relative)
        captions[relative] = caption(digits.images[i], folder, len(data) // BYTES_PER_EVENT, rng)
    return captions
