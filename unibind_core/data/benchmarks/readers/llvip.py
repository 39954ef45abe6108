"""LLVIP as distributed: `infrared/{train,test}/<n>.jpg`, the aligned `visible/{train,test}/<n>.jpg`,
and Pascal VOC `Annotations/<n>.xml`. Every annotated object becomes one thermal crop sample.

With `background_crops` it follows the ImageBind protocol UniBind reports (docs/method.md §5): per object
one same-size random box overlapping no annotated object, labelled `background`, so the task becomes
balanced person-vs-background. The eval slice is carved per *image*, keeping all crops of one frame
on the same side.

`root` may be the `LLVIP/` folder the archive unpacks to (under any name) or the folder holding it.
A copy holding one split (`infrared/test/` alone) skips the other split's annotations. Every infrared
image's header is checked (a bad one is quarantined with its annotation's objects);
with `classnames` the class indices are the list's, looked up by name, so a copy without background
crops or without some class keeps them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import parse as parse_xml
from PIL import Image

from unibind_core.data.benchmarks.classnames import apply_names, canonical
from unibind_core.data.benchmarks.manifest import ClassInfo, DatasetLayoutError, ReadResult, hashed_split
from unibind_core.data.benchmarks.readers.file_checks import image_problem
from unibind_core.data.benchmarks.readers.common import find_root
from unibind_core.data.benchmarks.readers.crops import BACKGROUND, add_crops, box_array
from unibind_core.storage.io import content_hash
from unibind_core.storage.tables import Split

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


def index_images(root: Path, folder: str) -> dict[str, tuple[str, str, int]]:
    """{stem: (split, path relative to `root`, size)} for `root/folder/{train,test}/*.jpg`."""
    found = {}
    for split in ("train", "test"):
        sub = root / folder / split
        if not sub.is_dir():
            continue
        for entry in os.scandir(sub):
            stem, ext = os.path.splitext(entry.name)
            if ext.lower() in IMAGE_SUFFIXES and entry.is_file():
                found[stem] = (split, f"{folder}/{split}/{entry.name}", entry.stat().st_size)
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
    root = Path(root)
    prefix = find_root(root, lambda p: (p / "Annotations").is_dir() and (p / "infrared").is_dir(),
                       "the LLVIP dataset folder", fallback=True)
    check_layout(root / prefix)
    infrared, visible = index_images(root, f"{prefix}infrared"), index_images(root, f"{prefix}visible")
    result = ReadResult()
    # A copy of one split only (infrared/test/ without train/) keeps every annotation: those of the absent
    # split are skipped, not quarantined one by one.
    one_split = not all((root / prefix / "infrared" / split).is_dir() for split in ("train", "test"))
    for xml in sorted((root / prefix / "Annotations").glob("*.xml")):
        if one_split and xml.stem not in infrared:
            continue
        _add_image(result, root, prefix, xml, infrared, visible, eval_fraction, background_crops, seed)
    names = sorted({r["class_key"] for r in result.rows if r["class_key"] != BACKGROUND})
    ordered = ([BACKGROUND] if background_crops else []) + names
    result.classes = [ClassInfo(i, n, n) for i, n in enumerate(ordered)]
    if classnames is not None:  # looked up by name: a copy without background crops keeps person = 1
        result.classes = canonical(result.classes, classnames,
                                   f"the object names of {root / prefix / 'Annotations'}", indexed=False)
    index = {c.key: c.index for c in result.classes}
    for row in result.rows:
        row["class_index"] = index[row["class_key"]]
    apply_names(result.rows, result.classes)
    return result


def _add_image(result: ReadResult, root: Path, prefix: str, xml: Path, infrared: dict, visible: dict,
               eval_fraction: float, background_crops: bool, seed: int) -> None:
    rel_xml, stem = f"{prefix}Annotations/{xml.name}", xml.stem
    if stem not in infrared:
        result.quarantine.append({"path": rel_xml, "reason": "no infrared/{train,test} image with this name"})
        return
    official, path, size = infrared[stem]
    problem = "empty file (0 bytes)" if size == 0 else image_problem(root / path, size)
    if problem is not None:
        result.quarantine.append({"path": path, "reason": problem})
        return
    try:
        ann = parse_annotation(xml)
        width, height = (ann.width, ann.height) if ann.width and ann.height else image_size(root / path)
    except (ValueError, OSError) as exc:
        result.quarantine.append({"path": rel_xml, "reason": str(exc)})
        return
    split = Split.TEST if official == "test" else hashed_split(stem, eval_fraction)
    base = {"split": split, "path": path, "paired_path": visible.get(stem, (None, None, 0))[1]}
    samples = [(k, name, box) for k, (name, box) in enumerate(ann.objects)]
    bg_seed = [seed, int(content_hash("llvip-bg", stem)[:8], 16)] if background_crops else None
    add_crops(result, base, stem, samples, box_array([b for _, b in ann.objects]), (width, height), rel_xml, bg_seed)
