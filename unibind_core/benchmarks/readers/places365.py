"""Places365-Standard as distributed: the file lists `categories_places365.txt` (`/a/airfield 0`),
`places365_train_standard.txt` (`/a/airfield/00000001.jpg 0`) and `places365_val.txt`
(`Places365_val_00000001.jpg 165`), with images under `data_256/` (the small-image train archive;
`train_256/`, `data_large/` also accepted) and `val_256/` (or `val_large/`).

The class list on disk is read and checked against the shipped one. Splits: official val is `test`;
`eval` is a stable-hash slice of train. A train line whose label disagrees with its category folder
is quarantined rather than trusted either way.
"""
from __future__ import annotations

import os
from pathlib import Path

from unibind_core.benchmarks.classnames import apply_names, match_exactly
from unibind_core.benchmarks.manifest import (
    ClassInfo,
    DatasetLayoutError,
    ReadResult,
    hashed_split,
    require_dir,
    require_file,
    resolve_inside,
)
from unibind_core.benchmarks.readers.caltech101 import image_check
from unibind_core.tables import Split

CATEGORIES = "categories_places365.txt"
TRAIN_LIST = "places365_train_standard.txt"
VAL_LIST = "places365_val.txt"
TRAIN_DIRS = ("data_256", "train_256", "data_large")
VAL_DIRS = ("val_256", "val_large")


def display_name(key: str) -> str:
    """`/a/apartment_building/outdoor` -> `apartment building (outdoor)`."""
    head, *rest = key.strip("/").split("/")[1:] or [key]
    return head.replace("_", " ") + "".join(f" ({part.replace('_', ' ')})" for part in rest)


def find_dir(root: Path, given: str | None, candidates: tuple[str, ...], what: str) -> str:
    for name in (given,) if given else candidates:
        if (root / name).is_dir():
            return name
    expected = " or ".join(f"{root / c}/" for c in ((given,) if given else candidates))
    raise DatasetLayoutError(f"expected the Places365 {what} folder at {expected}")


def list_lines(path: Path, what: str) -> list[tuple[int, str, str]]:
    """-> [(line number, path, label text)] of a `<path> <label>` list."""
    out = []
    for n, line in enumerate(require_file(path, what).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            name, _, label = line.strip().rpartition(" ")
            out.append((n, name, label))
    return out


def read_categories(path: Path) -> list[ClassInfo]:
    classes = []
    for n, key, label in list_lines(path, "the Places365 class list"):
        if not label.isdigit() or not key.startswith("/"):
            raise DatasetLayoutError(f"{path}:{n}: expected '/x/category <index>', got {key} {label}")
        classes.append(ClassInfo(int(label), key, display_name(key)))
    if sorted(c.index for c in classes) != list(range(len(classes))):
        raise DatasetLayoutError(f"{path}: class indices are not 0..{len(classes) - 1}, each once")
    return sorted(classes, key=lambda c: c.index)


class Listing:
    """{file name: size} per folder, listed once on first use instead of a stat per list line."""

    def __init__(self, root: Path) -> None:
        self.root, self.cache = root, {}

    def size(self, relative: str) -> int | None:
        folder, _, name = relative.rpartition("/")
        if folder not in self.cache:
            path = resolve_inside(self.root, folder)
            self.cache[folder] = ({e.name: e.stat().st_size for e in os.scandir(path) if e.is_file()}
                                  if path.is_dir() else {})
        return self.cache[folder].get(name)


def file_problem(listing: Listing, relative: str) -> str | None:
    try:
        size = listing.size(relative)
    except ValueError as exc:  # escapes the dataset root
        return str(exc)
    return "listed but missing on disk" if size is None else image_check(relative, size)


def read(root: Path, eval_fraction: float = 0.01, train_dir: str | None = None, val_dir: str | None = None,
         classnames: str | None = "places365") -> ReadResult:
    """Read Places365-Standard under `root` (train + official val)."""
    root = require_dir(Path(root), "the Places365 dataset folder")
    classes = read_categories(root / CATEGORIES)
    if classnames is not None:
        classes = match_exactly(classes, classnames, str(root / CATEGORIES))
    train, val = find_dir(root, train_dir, TRAIN_DIRS, "train image"), find_dir(root, val_dir, VAL_DIRS, "val image")
    result, listing = ReadResult(classes=classes), Listing(root)
    for n, name, label in list_lines(root / TRAIN_LIST, "the Places365-Standard train list"):
        _add(result, listing, f"{TRAIN_LIST}:{n}", f"{train}/{name.lstrip('/')}", label, classes, eval_fraction)
    for n, name, label in list_lines(root / VAL_LIST, "the Places365 val list"):
        _add(result, listing, f"{VAL_LIST}:{n}", f"{val}/{name}", label, classes, None)
    apply_names(result.rows, result.classes)
    return result


def _add(result: ReadResult, listing: Listing, where: str, relative: str, label: str, classes: list[ClassInfo],
         eval_fraction: float | None) -> None:
    """One list line; `eval_fraction` None marks the val list (split test, no category folder to check)."""
    if not label.isdigit() or int(label) >= len(classes):
        result.quarantine.append({"path": where, "reason": f"label {label!r} is not a class index"})
        return
    info = classes[int(label)]
    top, _, inner = relative.partition("/")
    folder = "/" + inner.rpartition("/")[0]
    if eval_fraction is not None and folder != info.key:
        result.quarantine.append({"path": relative, "reason": f"label {label} is {info.key}, the file is in {folder}"})
        return
    if eval_fraction is None and ("/" in inner or "\\" in inner or inner.startswith(".")):
        result.quarantine.append({"path": where, "reason": f"bad val file name {inner!r}"})
        return
    problem = file_problem(listing, relative)
    if problem is not None:
        result.quarantine.append({"path": relative, "reason": problem})
        return
    sample_id = os.path.splitext(inner)[0]
    split = Split.TEST if eval_fraction is None else hashed_split(sample_id, eval_fraction)
    result.rows.append({"sample_id": sample_id, "split": split, "class_index": info.index, "class_key": info.key,
                        "path": relative})
