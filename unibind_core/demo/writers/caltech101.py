"""Digit photos in Caltech-101's layout: `101_ObjectCategories/<class>/image_0001.jpg`.

Each 8x8 digit is upscaled to 32x32, shifted a little and lightly noised, then saved as a grayscale
JPEG: dark ink on light paper. The N-Caltech101 writer reuses `sample_names` so that image and event
recording of one digit share class folder and file name, as in the real pair of benchmarks.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from unibind_core.demo.digits import DemoDigits, stroke_attributes
from unibind_core.storage.io import write_bytes

ROOT_NAME = "101_ObjectCategories"
SIDE = 32
MAX_SHIFT = 2
NOISE_STD = 0.04
PHRASINGS = (
    "a {thickness}-stroked handwritten {name}, {slant}",
    "a photo of a {size}, {thickness}-stroked {name} written by hand, {slant}",
    "a handwritten digit {name} drawn with {thickness} strokes, {slant}",
    "a {size} handwritten {name} in {thickness} ink, {slant}",
)


def sample_names(digits: DemoDigits) -> list[tuple[str, str]]:
    """(class folder, file stem) per digit, files numbered from image_0001 within each class."""
    counts: dict[str, int] = {}
    names = []
    for i in range(len(digits)):
        folder = digits.name(i)
        counts[folder] = counts.get(folder, 0) + 1
        names.append((folder, f"image_{counts[folder]:04d}"))
    return names


def upscale(image: np.ndarray, side: int) -> np.ndarray:
    """(8, 8) ink in [0, 1] -> (side, side) float64 ink in [0, 1], bilinear."""
    pil = Image.fromarray(np.asarray(image, dtype=np.float32)).resize((side, side), Image.BILINEAR)
    return np.clip(np.asarray(pil, dtype=np.float64), 0.0, 1.0)


def shifted(ink: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """Translate by whole pixels, filling with blank paper instead of wrapping round."""
    pad = max(abs(dx), abs(dy))
    padded = np.pad(ink, pad)
    h, w = ink.shape
    return padded[pad - dy : pad - dy + h, pad - dx : pad - dx + w]


def photo(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(8, 8) digit -> (SIDE, SIDE) uint8 photo of dark ink on light paper."""
    dx, dy = (int(v) for v in rng.integers(-MAX_SHIFT, MAX_SHIFT + 1, 2))
    ink = shifted(upscale(image, SIDE), dx, dy)
    gray = 0.92 - 0.8 * ink + rng.normal(0.0, NOISE_STD, ink.shape)
    return np.uint8(np.clip(gray, 0.0, 1.0) * 255 + 0.5)


def jpeg(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def caption(image: np.ndarray, name: str, rng: np.random.Generator) -> str:
    attrs = stroke_attributes(image)
    return PHRASINGS[int(rng.integers(len(PHRASINGS)))].format(name=name, **attrs)


def write(root: Path, digits: DemoDigits, rng: np.random.Generator) -> dict[str, str]:
    """Write the dataset under `root`; returns {relative path: caption} for every image."""
    root = Path(root)
    captions = {}
    for i, (folder, stem) in enumerate(sample_names(digits)):
        relative = f"{ROOT_NAME}/{folder}/{stem}.jpg"
        write_bytes(jpeg(photo(digits.images[i], rng)), root / relative)
        captions[relative] = caption(digits.images[i], folder, rng)
    return captions
