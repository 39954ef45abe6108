"""The demo world's source: scikit-learn's bundled 8x8 handwritten digits (no download needed)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.datasets import load_digits

DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@dataclass(frozen=True)
class DemoDigits:
    """images: (N, 8, 8) float32 in [0, 1]; labels: (N,) int digit values; ids: stable source ids."""

    images: np.ndarray
    labels: np.ndarray
    ids: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    def name(self, i: int) -> str:
        return DIGIT_NAMES[int(self.labels[i])]


def load_demo_digits(max_per_class: int | None = None) -> DemoDigits:
    """All 1,797 digits (or the first `max_per_class` of each class), in the bundled order."""
    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)
    labels = bunch.target.astype(np.int64)
    keep = np.arange(len(labels))
    if max_per_class is not None:
        keep = np.concatenate([np.flatnonzero(labels == c)[:max_per_class] for c in range(10)])
        keep.sort()
    ids = tuple(f"digit{int(i):04d}" for i in keep)
    return DemoDigits(images=images[keep], labels=labels[keep], ids=ids)


def stroke_attributes(image: np.ndarray) -> dict[str, str]:
    """Coarse, caption-worthy attributes of one 8x8 digit (what a captioner could say about it)."""
    ink = float(image.mean())
    ys, xs = np.nonzero(image > 0.3)
    slant = float(np.polyfit(ys, xs, 1)[0]) if len(ys) > 2 and np.ptp(ys) > 0 else 0.0
    return {
        "thickness": "thick" if ink > 0.33 else ("thin" if ink < 0.25 else "medium"),
        "slant": "slanted right" if slant < -0.15 else ("slanted left" if slant > 0.15 else "upright"),
        "size": "wide" if len(xs) and np.ptp(xs) >= 6 else "narrow",
    }
