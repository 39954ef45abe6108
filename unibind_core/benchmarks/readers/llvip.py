"""LLVIP as distributed: `infrared/{train,test}/<n>.jpg`, the aligned `visible/{train,test}/<n>.jpg`,
and Pascal VOC `Annotations/<n>.xml`. Every annotated object becomes one thermal crop sample.

With `background_crops` it follows the ImageBind protocol UniBind reports (docs/method.md §5): per object
one same-size random box overlapping no annotated object, labelled `background`, so the task becomes
balanced person-vs-background. The eval slice is carved per *image*, keeping all crops of one frame
on the same side.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import parse as parse_xml
from PIL import Image

from unibind_core.benchmarks.classnames import apply_names, canonical
from unibind_core.benchmarks.manifest import (
    ClassInfo,
    DatasetLayoutError,
    ReadResult,
    hashed_split,
    require_dir,
)
from unibind_core.benchmarks.readers.crops import BACKGROUND, add_crops, box_array
from unibind_core.io import content_hash
from unibind_core.tables import Split

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
LAYOUT = "infrared/{train,test}/*.jpg + visible/{train,test}/*.jpg + Annotations/*.xml"


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


def read(root: Path, eval_fraction: float = 0.1, background_crops: bool = False, seed: int = 0,
         classnames: str | None = None) -> ReadResult:
    """Read LLVIP under `root`; with `classnames` the classes found are checked against that shipped list."""
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
    if classnames is not None:
        result.classes = canonical(result.classes, classnames, f"the object names of {root / 'Annotations'}",
                                   indexed=True)
        apply_names(result.rows, result.classes)
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
    split = Split.TEST if official == "test" else hashed_split(stem, eval_fraction)
    base = {"split": split, "path": path, "paired_path": visible.get(stem, (None, None))[1]}
    samples = [(k, name, box) for k, (name, box) in enumerate(ann.objects)]
    bg_seed = [seed, int(content_hash("llvip-bg", stem)[:8], 16)] if background_crops else None
    add_crops(result, base, stem, samples, box_array([b for _, b in ann.objects]), (width, height), rel_xml, bg_seed)
