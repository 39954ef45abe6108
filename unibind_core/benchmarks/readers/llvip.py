"""LLVIP as distributed: `infrared/{train,test}/<n>.jpg`, the aligned `visible/{train,test}/<n>.jpg`,
and Pascal VOC `Annotations/<n>.xml`. Every annotated object becomes one thermal crop sample.

With `background_crops` it follows the ImageBind protocol UniBind reports (METHOD.md §4): per object
one same-size random box overlapping no annotated object, labelled `background`, so the task becomes
balanced person-vs-background. The eval slice is carved per *image*, keeping all crops of one frame
on the same side.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import parse as parse_xml
from PIL import Image

from unibind_core.benchmarks.manifest import ClassInfo, DatasetLayoutError, ReadResult, hashed_split, require_dir
from unibind_core.io import content_hash

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
BACKGROUND = "background"
BACKGROUND_TRIES = 32  # drawn and tested in one batch, so generous is cheap; crowded frames still skip


@dataclass(frozen=True)
class Annotation:
    width: int | None  # from <size>, None when absent or zero
    height: int | None
    objects: list[tuple[str | None, list[int] | None]]  # (name, [x0, y0, x1, y1]) per <object>


def check_layout(root: Path) -> None:
    """Name every missing folder at once."""
    missing = [f"{sub}/ at {root / sub}" for sub in ("infrared", "visible", "Annotations") if not (root / sub).is_dir()]
    if missing:
        raise DatasetLayoutError("LLVIP layout incomplete: expected " + "; ".join(missing))


def index_images(folder: Path) -> dict[str, tuple[str, str]]:
    """{stem: (split, path relative to the dataset root)} for `folder/{train,test}/*.jpg`."""
    found = {}
    for split in ("train", "test"):
        sub = folder / split
        if not sub.is_dir():
            continue
        for entry in os.scandir(sub):
            stem, ext = os.path.splitext(entry.name)
            if ext.lower() in IMAGE_SUFFIXES and entry.is_file():
                found[stem] = (split, f"{folder.name}/{split}/{entry.name}")
    return found


def _int(node, tag: str) -> int | None:
    text = node.findtext(tag) if node is not None else None
    try:
        return int(round(float(text))) if text is not None else None
    except ValueError:
        return None


def parse_annotation(path: Path) -> Annotation:
    """VOC XML -> Annotation; raises ValueError for XML that is malformed or unsafe."""
    try:
        tree = parse_xml(path)
    except (ParseError, DefusedXmlException) as exc:
        raise ValueError(f"malformed XML ({exc})") from exc
    root = tree.getroot()
    size = root.find("size")
    width, height = _int(size, "width") or None, _int(size, "height") or None
    objects = []
    for obj in root.iter("object"):
        bndbox = obj.find("bndbox")
        coords = [_int(bndbox, t) for t in ("xmin", "ymin", "xmax", "ymax")]
        name = (obj.findtext("name") or "").strip() or None
        objects.append((name, None if None in coords else coords))
    return Annotation(width, height, objects)


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the image header, for annotations without a usable <size>."""
    with Image.open(path) as image:
        return image.size


def box_problem(name: str | None, box: list[int] | None, width: int, height: int) -> str | None:
    """Why an object cannot become a sample, or None if it can."""
    if name is None:
        return "has no <name>"
    if box is None:
        return "has no complete numeric <bndbox>"
    x0, y0, x1, y1 = box
    if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
        return f"box {box} lies outside the {width}x{height} image or is empty"
    return None


def background_box(box: list[int], others: np.ndarray, width: int, height: int,
                   rng: np.random.Generator) -> list[int] | None:
    """A same-size box overlapping none of `others` (B, 4); up to BACKGROUND_TRIES draws, tested at once."""
    w, h = box[2] - box[0], box[3] - box[1]
    x0 = rng.integers(0, width - w + 1, BACKGROUND_TRIES)
    y0 = rng.integers(0, height - h + 1, BACKGROUND_TRIES)
    cand = np.stack([x0, y0, x0 + w, y0 + h], axis=1)  # (T, 4)
    ix = np.minimum(cand[:, None, 2], others[None, :, 2]) - np.maximum(cand[:, None, 0], others[None, :, 0])
    iy = np.minimum(cand[:, None, 3], others[None, :, 3]) - np.maximum(cand[:, None, 1], others[None, :, 1])
    free = ~((ix > 0) & (iy > 0)).any(axis=1)  # (T,)
    return [int(v) for v in cand[np.argmax(free)]] if free.any() else None


def read(root: Path, eval_fraction: float = 0.1, background_crops: bool = False, seed: int = 0) -> ReadResult:
    root = require_dir(Path(root), "the LLVIP dataset folder")
    check_layout(root)
    infrared, visible = index_images(root / "infrared"), index_images(root / "visible")
    result = ReadResult()
    for xml in sorted((root / "Annotations").glob("*.xml")):
        _add_image(result, root, xml, infrared, visible, eval_fraction, background_crops, seed)
    names = sorted({r["class_key"] for r in result.rows if r["class_key"] != BACKGROUND})
    ordered = ([BACKGROUND] if background_crops else []) + names
    index = {name: i for i, name in enumerate(ordered)}
    result.classes = [ClassInfo(i, n, n) for i, n in enumerate(ordered)]
    for row in result.rows:
        row["class_index"] = index[row["class_key"]]
    return result


def _add_image(result: ReadResult, root: Path, xml: Path, infrared: dict, visible: dict, eval_fraction: float,
               background_crops: bool, seed: int) -> None:
    rel_xml, stem = f"Annotations/{xml.name}", xml.stem
    if stem not in infrared:
        result.quarantine.append({"path": rel_xml, "reason": "no infrared/{train,test} image with this name"})
        return
    official, path = infrared[stem]
    try:
        ann = parse_annotation(xml)
        width, height = (ann.width, ann.height) if ann.width and ann.height else image_size(root / path)
    except (ValueError, OSError) as exc:
        result.quarantine.append({"path": rel_xml, "reason": str(exc)})
        return
    split = "test" if official == "test" else hashed_split(stem, eval_fraction)
    base = {"split": split, "path": path, "paired_path": visible.get(stem, (None, None))[1]}
    boxes = np.array([b for _, b in ann.objects if b is not None] or np.zeros((0, 4)), dtype=np.int64)
    for k, (name, box) in enumerate(ann.objects):
        problem = box_problem(name, box, width, height)
        if problem:
            result.quarantine.append({"path": rel_xml, "reason": f"object {k} {problem}"})
            continue
        result.rows.append({**base, "sample_id": f"{stem}_{k}", "class_key": name, "class_name": name, "box": box})
        if background_crops:
            rng = np.random.default_rng([seed, int(content_hash("llvip-bg", stem)[:8], 16), k])
            bg = background_box(box, boxes, width, height, rng)
            if bg is not None:
                result.rows.append({**base, "sample_id": f"{stem}_bg{k}", "class_key": BACKGROUND,
                                    "class_name": BACKGROUND, "box": bg,
                                    "caption": None})  # the image's caption describes the object, not this crop
