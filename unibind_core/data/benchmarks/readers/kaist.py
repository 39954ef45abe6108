"""RGB-T: the KAIST multispectral pedestrian benchmark as distributed, read as person-vs-background crops.

Layout (the official `kaist-rgbt` tree; the `images/` level is optional):

    [images/]setXX/VYYY/lwir/IZZZZZ.jpg      thermal frame (the sample)
    [images/]setXX/VYYY/visible/IZZZZZ.jpg   aligned colour frame (`paired_path`)
    annotations/setXX/VYYY/IZZZZZ.txt        Piotr's-toolbox text boxes, shared by both frames:
        % bbGt version=3
        person 286 218 27 66 0 0 0 0 0 0 0   (label, left, top, width, height, occlusion, visible box, ...)

Every box labelled `person` becomes a crop of the thermal frame; `people` (groups), `cyclist` and
`person?` are not samples but background boxes avoid them (docs/method.md §5, shared crop machinery
with LLVIP). Boxes of people entering the frame run past its border and are clipped to it.

`root` may be the `kaist-rgbt` folder (under any name) or the folder holding it. A copy holding some
sets or videos reads them: annotations of a video whose `lwir/` folder is absent are skipped, while a
frame missing from a video that is there, or an image whose header does not parse, is quarantined.

Splits [ours]: the official KAIST split (set00-05 train, set06-11 test); `eval` is carved from train
per video (`setXX/VYYY`), since consecutive 20 Hz frames are near-duplicates. `frame_stride` keeps every
n-th frame: the paper's RGB-T count (10,000 boxes, 5,131 person) is of the order of every 20th frame.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from PIL import Image

from unibind_core.data.benchmarks.classnames import apply_names, shipped_classes
from unibind_core.data.benchmarks.manifest import ClassInfo, ReadResult, hashed_split
from unibind_core.data.benchmarks.readers.file_checks import image_problem
from unibind_core.data.benchmarks.readers.common import find_root
from unibind_core.data.benchmarks.readers.crops import BACKGROUND, Box, add_crops, box_array
from unibind_core.storage.io import content_hash
from unibind_core.storage.tables import Split

LAYOUT = "[images/]setXX/VYYY/{lwir,visible}/IZZZZZ.jpg + annotations/setXX/VYYY/IZZZZZ.txt"
TEST_SETS = tuple(f"set{i:02d}" for i in range(6, 12))
PERSON = "person"
_SET, _VIDEO, _FRAME = re.compile(r"set\d\d"), re.compile(r"V\d\d\d"), re.compile(r"I(\d{5})\.txt")


def parse_bbgt(path: Path) -> list[tuple[str, Box | None]]:
    """A bbGt text annotation -> [(label, [x0, y0, x1, y1] or None if unparsable)]; ValueError if not bbGt."""
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except UnicodeDecodeError as exc:
        raise ValueError(f"not a text annotation ({exc})") from exc
    if not lines or not lines[0].startswith("% bbGt"):
        raise ValueError("not a bbGt annotation: the first line should be '% bbGt version=3'")
    objects = []
    for line in lines[1:]:
        parts = line.split()
        if not parts:
            continue
        try:
            left, top, width, height = (float(v) for v in parts[1:5])
            box = [round(left), round(top), round(left + width), round(top + height)]
        except ValueError:  # also fewer than five fields
            box = None
        objects.append((parts[0], box))
    return objects


def clip_box(box: Box | None, width: int, height: int) -> Box | None:
    """Clip to the image (KAIST boxes of people entering the frame run past its border)."""
    return None if box is None else [max(0, box[0]), max(0, box[1]), min(width, box[2]), min(height, box[3])]


def annotation_files(annotations: Path, frame_stride: int) -> list[tuple[str, str, str]]:
    """Sorted (set, video, frame) of `annotations/setXX/VYYY/IZZZZZ.txt`, every `frame_stride`-th frame."""
    found = []
    for set_entry in sorted(os.scandir(annotations), key=lambda e: e.name):
        if not (set_entry.is_dir() and _SET.fullmatch(set_entry.name)):
            continue
        for video in sorted(os.scandir(set_entry.path), key=lambda e: e.name):
            if not (video.is_dir() and _VIDEO.fullmatch(video.name)):
                continue
            for entry in sorted(os.scandir(video.path), key=lambda e: e.name):
                match = _FRAME.fullmatch(entry.name)
                if match and int(match[1]) % frame_stride == 0:
                    found.append((set_entry.name, video.name, entry.name[:-4]))
    return found


def read(root: Path, eval_fraction: float = 0.1, frame_stride: int = 1, background_crops: bool = True,
         seed: int = 0, test_sets: tuple[str, ...] = TEST_SETS, person_labels: tuple[str, ...] = (PERSON,),
         classnames: str | None = "rgbt") -> ReadResult:
    """Read the KAIST multispectral benchmark under `root` as thermal person (and background) crops."""
    root = Path(root)
    prefix = find_root(root, lambda p: (p / "annotations").is_dir(),
                       "the KAIST annotations/ folder (annotations/setXX/VYYY/IZZZZZ.txt)", "annotations")
    annotations = root / prefix / "annotations"
    images = prefix + ("images/" if (root / prefix / "images").is_dir() else "")
    result, listings = ReadResult(), {}
    for set_name, video, frame in annotation_files(annotations, max(1, int(frame_stride))):
        frame_id = (set_name, video, frame)
        split = Split.TEST if set_name in test_sets else hashed_split(f"{set_name}/{video}", eval_fraction)
        _add_frame(result, root, prefix, images, frame_id, split, listings, set(person_labels),
                   [seed, int(content_hash("rgbt-bg", *frame_id)[:8], 16)] if background_crops else None)
    # The task fixes the classes (person = 1 with or without background crops); nothing on disk lists them.
    fixed = [ClassInfo(0, BACKGROUND, BACKGROUND), ClassInfo(1, PERSON, PERSON)]
    result.classes = list(shipped_classes(classnames)) if classnames is not None else fixed
    index = {c.key: c.index for c in result.classes}
    for row in result.rows:
        row["class_index"] = index[row["class_key"]]
    apply_names(result.rows, result.classes)
    return result


def frame_files(root: Path, images: str, set_name: str, video: str, kind: str, listings: dict) -> dict[str, int] | None:
    """{file name: size} in `[images/]set/video/<kind>/`, listed once per video; None if the folder is absent."""
    key = (set_name, video, kind)
    if key not in listings:
        folder = root / f"{images}{set_name}/{video}/{kind}"
        listings[key] = ({e.name: e.stat().st_size for e in os.scandir(folder) if e.is_file()}
                         if folder.is_dir() else None)
    return listings[key]


def _add_frame(result: ReadResult, root: Path, prefix: str, images: str, frame_id: tuple[str, str, str], split: str,
               listings: dict, person_labels: set[str], background_seed: list[int] | None) -> None:
    set_name, video, frame = frame_id
    where = f"{prefix}annotations/{set_name}/{video}/{frame}.txt"
    try:
        objects = parse_bbgt(root / where)
    except (ValueError, OSError) as exc:
        result.quarantine.append({"path": where, "reason": str(exc)})
        return
    samples = [(k, PERSON, box) for k, (label, box) in enumerate(objects) if label in person_labels]
    if not samples:
        return
    lwir = frame_files(root, images, set_name, video, "lwir", listings)
    if lwir is None:
        return  # a copy without this video: not a per-frame loss
    if f"{frame}.jpg" not in lwir:
        result.quarantine.append({"path": where, "reason": f"no lwir/{frame}.jpg beside this annotation"})
        return
    thermal = f"{images}{set_name}/{video}/lwir/{frame}.jpg"
    size = lwir[f"{frame}.jpg"]
    problem = "empty file (0 bytes)" if size == 0 else image_problem(root / thermal, size)
    if problem is not None:
        result.quarantine.append({"path": thermal, "reason": problem})
        return
    with Image.open(root / thermal) as image:
        width, height = image.size
    visible = f"{images}{set_name}/{video}/visible/{frame}.jpg"
    paired = visible if f"{frame}.jpg" in (frame_files(root, images, set_name, video, "visible", listings) or {}) else None
    base = {"split": split, "path": thermal, "paired_path": paired}
    clipped = [(k, name, clip_box(box, width, height)) for k, name, box in samples]
    avoid = box_array([clip_box(b, width, height) for _, b in objects])
    add_crops(result, base, "_".join(frame_id), clipped, avoid, (width, height), where, background_seed)
