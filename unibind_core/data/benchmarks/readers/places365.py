"""Places365-Standard as distributed: the file lists `categories_places365.txt` (`/a/airfield 0`),
`places365_train_standard.txt` (`/a/airfield/00000001.jpg 0`) and `places365_val.txt`
(`Places365_val_00000001.jpg 165`), with images under `data_256/` (the small-image train archive;
`train_256/`, `data_large/` also accepted) and `val_256/` (or `val_large/`).

The class list on disk is read and checked against the shipped one. Splits: official val is `test`;
`eval` is a stable-hash slice of train. A train line whose label disagrees with its category folder
is quarantined rather than trusted either way. `root` may be the folder holding the lists or the one
above it. A copy holding some category folders keeps their indices: train lines of absent category
folders are skipped (the classes are reported missing), as are val lines of absent images of those
classes. A copy of the val set alone (the file lists + `val_256/`, no train list and no train folder)
reads as the test split. Every image header is checked.

The "easy format" archive (`places365standard_easyformat.tar`) is read too: `places365_standard/
{train,val}/<category>/*.jpg`, the category folder being the key without its letter and with `-` for
`/` (`apartment_building-outdoor` is `/a/apartment_building/outdoor`); indices come from the shipped
list (or a `categories_places365.txt` beside the folders), so a copy of some categories keeps them.
"""
from __future__ import annotations

import os
from pathlib import Path

from unibind_core.data.benchmarks.classnames import apply_names, canonical
from unibind_core.data.benchmarks.manifest import ClassInfo, DatasetLayoutError, ReadResult, hashed_split
from unibind_core.data.benchmarks.readers.file_checks import IMAGE_SUFFIXES, suffix_check
from unibind_core.data.benchmarks.readers.common import (MISSING, FileCheck, Listing, entry_problem, find_root,
                                                    label_lines, quarantine)
from unibind_core.storage.tables import Split

LAYOUT = ("categories_places365.txt + places365_{train_standard,val}.txt + data_256/ (or data_large/) + val_256/ "
          "(or val_large/; train optional), or places365_standard/{train,val}/<category>/*.jpg")
CATEGORIES = "categories_places365.txt"
TRAIN_LIST = "places365_train_standard.txt"
VAL_LIST = "places365_val.txt"
TRAIN_DIRS = ("data_256", "train_256", "data_large")
VAL_DIRS = ("val_256", "val_large")
EASY = ("train", "val")


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


def read_categories(path: Path) -> list[ClassInfo]:
    classes = []
    for n, key, label in label_lines(path, "the Places365 class list"):
        if not label.isdigit() or not key.startswith("/"):
            raise DatasetLayoutError(f"{path}:{n}: expected '/x/category <index>', got {key} {label}")
        classes.append(ClassInfo(int(label), key, display_name(key)))
    if sorted(c.index for c in classes) != list(range(len(classes))):
        raise DatasetLayoutError(f"{path}: class indices are not 0..{len(classes) - 1}, each once")
    return sorted(classes, key=lambda c: c.index)


def _is_easy(path: Path) -> bool:
    """The easy-format archive: train/ and val/ category folders, no flat val_256/ beside them."""
    return (path / EASY[0]).is_dir() and (path / EASY[1]).is_dir() and not any((path / d).is_dir() for d in VAL_DIRS)


def easy_folder(key: str) -> str:
    """`/a/apartment_building/outdoor` -> `apartment_building-outdoor` (the easy format's folder name)."""
    return key.strip("/").split("/", 1)[-1].replace("/", "-")


def read(root: Path, eval_fraction: float = 0.01, train_dir: str | None = None, val_dir: str | None = None,
         classnames: str | None = "places365", verify_files: bool = True) -> ReadResult:
    """Read Places365-Standard under `root` (train + official val)."""
    root = Path(root)
    prefix = find_root(root, lambda p: (p / CATEGORIES).is_file() or _is_easy(p),
                       "the Places365 class list (or the easy format's train/ and val/)", CATEGORIES)
    here = root / prefix
    check = suffix_check(IMAGE_SUFFIXES, "an image file", verify_files)
    if _is_easy(here) and train_dir is None and val_dir is None:
        result = read_easy(root, prefix, eval_fraction, classnames, check)
        apply_names(result.rows, result.classes)
        return result
    classes = canonical(read_categories(here / CATEGORIES), classnames, str(here / CATEGORIES), indexed=True)
    val = prefix + find_dir(here, val_dir, VAL_DIRS, "val image")
    result, listing, seen = ReadResult(classes=classes), Listing(root), set()
    held: set[int] = set()
    if train_dir or (here / TRAIN_LIST).is_file() or any((here / d).is_dir() for d in TRAIN_DIRS):
        train = prefix + find_dir(here, train_dir, TRAIN_DIRS, "train image")
        for n, name, label in label_lines(here / TRAIN_LIST, "the Places365-Standard train list"):
            _add(result, listing, f"{prefix}{TRAIN_LIST}:{n}", train, name.lstrip("/"), label, classes,
                 eval_fraction, seen, check, held)
    for n, name, label in label_lines(here / VAL_LIST, "the Places365 val list"):
        _add(result, listing, f"{prefix}{VAL_LIST}:{n}", val, name, label, classes, None, seen, check, held)
    apply_names(result.rows, result.classes)
    return result


def _add(result: ReadResult, listing: Listing, where: str, top: str, inner: str, label: str,
         classes: list[ClassInfo], eval_fraction: float | None, seen: set[str], check: FileCheck,
         held: set[int]) -> None:
    """One list line (`inner`: its path below the image folder `top`); `eval_fraction` None marks the val
    list (split test, no category folder to check). `held`: classes whose train folder this copy has."""
    if not label.isdigit() or int(label) >= len(classes):
        quarantine(result, where, f"label {label!r} is not a class index")
        return
    info = classes[int(label)]
    relative = f"{top}/{inner}"
    folder = "/" + inner.rpartition("/")[0]
    if eval_fraction is not None:
        if folder != info.key:
            quarantine(result, relative, f"label {label} is {info.key}, the file is in {folder}")
            return
        if not listing.has_dir(f"{top}{folder}"):
            return  # a copy without this category: reported as a missing class, not per image
        held.add(info.index)
    elif "/" in inner or "\\" in inner or inner.startswith("."):
        quarantine(result, where, f"bad val file name {inner!r}")
        return
    problem = entry_problem(listing, relative, seen, check)
    if problem == MISSING and eval_fraction is None and info.index not in held:
        return  # a val image of a category this copy does not hold
    if problem is not None:
        quarantine(result, relative, problem)
        return
    sample_id = os.path.splitext(inner)[0]
    split = Split.TEST if eval_fraction is None else hashed_split(sample_id, eval_fraction)
    result.rows.append({"sample_id": sample_id, "split": split, "class_index": info.index, "class_key": info.key,
                        "path": relative})


def read_easy(root: Path, prefix: str, eval_fraction: float, classnames: str | None, check: FileCheck) -> ReadResult:
    """`{train,val}/<category>/*.jpg`: the class from the folder, looked up in the class list by its easy name."""
    here = root / prefix
    if (here / CATEGORIES).is_file():
        classes = canonical(read_categories(here / CATEGORIES), classnames, str(here / CATEGORIES), indexed=True)
    elif classnames is not None:
        classes = canonical([], classnames, str(here), indexed=False)
    else:  # custom data: the folders, in sorted order (what an ImageFolder over train/ would number)
        folders = sorted({d for split in EASY for d in Listing(root).dirs(f"{prefix}{split}")})
        classes = [ClassInfo(i, f, f.replace("_", " ").replace("-", " ")) for i, f in enumerate(folders)]
    by_folder = {easy_folder(c.key): c for c in classes}
    result, listing, seen = ReadResult(classes=classes), Listing(root), set()
    for split in EASY:
        top = f"{prefix}{split}"
        unknown = [d for d in listing.dirs(top) if d not in by_folder]
        if unknown:
            raise DatasetLayoutError(f"{root / top} holds folder(s) that are no category of the class list: "
                                     f"{', '.join(unknown[:5])}")
        for name in sorted(listing.files(top)):
            quarantine(result, f"{top}/{name}", "stray file outside a category folder")
        for folder in listing.dirs(top):
            info = by_folder[folder]
            for name in sorted(listing.files(f"{top}/{folder}")):
                relative = f"{top}/{folder}/{name}"
                problem = entry_problem(listing, relative, seen, check)
                if problem is not None:
                    quarantine(result, relative, problem)
                    continue
                stem = os.path.splitext(name)[0]
                sample_id = stem if split == "val" else f"{info.key.strip('/')}/{stem}"
                row_split = Split.TEST if split == "val" else hashed_split(sample_id, eval_fraction)
                result.rows.append({"sample_id": sample_id, "split": row_split, "class_index": info.index,
                                    "class_key": info.key, "path": relative})
    return result
