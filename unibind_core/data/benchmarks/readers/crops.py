"""Detection boxes -> crop samples, shared by the thermal benchmarks (LLVIP, RGB-T).

docs/method.md §5 (following ImageBind): every annotated object box becomes one crop sample and,
for the balanced person-vs-background task, each gets one same-size random box that overlaps no
annotated object of the frame, labelled `background`. A frame too crowded for a free box loses that
background crop, so the balance is approximate by exactly the number of such frames.
"""
from __future__ import annotations

import numpy as np

from unibind_core.data.benchmarks.manifest import ReadResult

BACKGROUND = "background"
BACKGROUND_TRIES = 32  # drawn and tested in one batch, so generous is cheap; crowded frames still skip

Box = list[int]  # x0, y0, x1, y1 in pixels, x1/y1 exclusive


def box_problem(name: str | None, box: Box | None, width: int, height: int) -> str | None:
    """Why an object cannot become a sample, or None if it can."""
    if name is None:
        return "has no name"
    if box is None:
        return "has no complete numeric box"
    x0, y0, x1, y1 = box
    if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
        return f"box {box} lies outside the {width}x{height} image or is empty"
    return None


def background_box(box: Box, others: np.ndarray, width: int, height: int, rng: np.random.Generator) -> Box | None:
    """A same-size box overlapping none of `others` (B, 4); up to BACKGROUND_TRIES draws, tested at once."""
    w, h = box[2] - box[0], box[3] - box[1]
    x0 = rng.integers(0, width - w + 1, BACKGROUND_TRIES)
    y0 = rng.integers(0, height - h + 1, BACKGROUND_TRIES)
    cand = np.stack([x0, y0, x0 + w, y0 + h], axis=1)  # (T, 4)
    ix = np.minimum(cand[:, None, 2], others[None, :, 2]) - np.maximum(cand[:, None, 0], others[None, :, 0])
    iy = np.minimum(cand[:, None, 3], others[None, :, 3]) - np.maximum(cand[:, None, 1], others[None, :, 1])
    free = ~((ix > 0) & (iy > 0)).any(axis=1)  # (T,)
    return [int(v) for v in cand[np.argmax(free)]] if free.any() else None


def box_array(boxes: list[Box | None]) -> np.ndarray:
    """(B, 4) int64 of the boxes that are set (every annotated object is avoided, sample or not)."""
    return np.array([b for b in boxes if b is not None] or np.zeros((0, 4)), dtype=np.int64)


def add_crops(result: ReadResult, base: dict, stem: str, samples: list[tuple[int, str | None, Box | None]],
              avoid: np.ndarray, size: tuple[int, int], where: str, background_seed: list[int] | None) -> None:
    """Rows `<stem>_<k>` for each valid (k, class, box) in `samples` (others quarantined at `where`) and,
    with `background_seed`, a `<stem>_bg<k>` background crop per object avoiding every box in `avoid`."""
    width, height = size
    for k, name, box in samples:
        problem = box_problem(name, box, width, height)
        if problem:
            result.quarantine.append({"path": where, "reason": f"object {k} {problem}"})
            continue
        result.rows.append({**base, "sample_id": f"{stem}_{k}", "class_key": name, "class_name": name, "box": box})
        if background_seed is None:
            continue
        bg = background_box(box, avoid, width, height, np.random.default_rng([*background_seed, k]))
        if bg is not None:
            result.rows.append({**base, "sample_id": f"{stem}_bg{k}", "class_key": BACKGROUND,
                                "class_name": BACKGROUND, "box": bg,
                                "caption": None})  # a frame's caption describes the object, not this crop
