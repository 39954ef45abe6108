"""Caltech-101 as distributed: `101_ObjectCategories/<class folder>/image_NNNN.jpg`.

There is no official split, so each sample's split is a stable hash of its id "<folder>/<stem>". The
N-Caltech101 reader uses the same ids and helpers, so an image and its event recording always land in
the same split.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from unibind_core.benchmarks.classnames import apply_names, match_exactly
from unibind_core.benchmarks.manifest import (
    ClassInfo,
    ReadResult,
    hashed_split,
    require_dir,
)

ROOT_NAME = "101_ObjectCategories"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff")

# (file name, size in bytes) -> None if the file is a sample, else the reason it is quarantined
FileCheck = Callable[[str, int], str | None]


def class_folders(top: Path, exclude: tuple[str, ...]) -> list[ClassInfo]:
    """Sorted, visible sub-folders minus `exclude`; the index is the position in that list."""
    names = sorted(e.name for e in os.scandir(top) if e.is_dir() and not e.name.startswith("."))
    kept = [n for n in names if n not in set(exclude)]
    return [ClassInfo(index=i, key=n, name=n.replace("_", " ").lower()) for i, n in enumerate(kept)]


def image_check(name: str, size: int) -> str | None:
    if os.path.splitext(name)[1].lower() not in IMAGE_SUFFIXES:
        return "not an image file (unexpected suffix)"
    if size == 0:
        return "empty file (0 bytes)"
    return None


def scan_class_folder(result: ReadResult, folder: Path, relative: str, info: ClassInfo, check: FileCheck,
                      sample_id_of: Callable[[str], str], split_of: Callable[[str], str]) -> None:
    """One row per accepted file of one class folder (`relative`: its path from the dataset root); files
    that are not regular or fail `check` are quarantined with the reason. Hidden files are skipped."""
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue
        path = f"{relative}/{entry.name}"
        reason = "not a regular file" if not entry.is_file() else check(entry.name, entry.stat().st_size)
        if reason is not None:
            result.quarantine.append({"path": path, "reason": reason})
            continue
        sample_id = sample_id_of(os.path.splitext(entry.name)[0])
        result.rows.append({"sample_id": sample_id, "split": split_of(sample_id), "class_index": info.index,
                            "class_key": info.key, "class_name": info.name, "path": path})


def scan_classes(root: Path, top_name: str, exclude: tuple[str, ...], check: FileCheck,
                 eval_fraction: float, test_fraction: float, classnames: str | None = None) -> ReadResult:
    """One row per accepted file of every class folder under `root/top_name`; the rest quarantined.

    With `classnames`, the folders must be exactly the shipped list of that name (display names from it).
    """
    top = require_dir(root / top_name, f"the {top_name}/ folder of class sub-folders")
    result = ReadResult(classes=class_folders(top, exclude))
    if classnames is not None:
        result.classes = match_exactly(result.classes, classnames, f"the class folders of {top}")
    for entry in sorted(os.scandir(top), key=lambda e: e.name):
        if not entry.name.startswith(".") and not entry.is_dir():
            result.quarantine.append({"path": f"{top_name}/{entry.name}",
                                      "reason": "stray file outside a class folder"})
    for info in result.classes:
        scan_class_folder(result, top / info.key, f"{top_name}/{info.key}", info, check,
                          sample_id_of=lambda stem, key=info.key: f"{key}/{stem}",
                          split_of=lambda sample_id: hashed_split(sample_id, eval_fraction, test_fraction))
    apply_names(result.rows, result.classes)
    return result


def read(root: Path, exclude: tuple[str, ...] = ("BACKGROUND_Google",), eval_fraction: float = 0.1,
         test_fraction: float = 0.3, classnames: str | None = None) -> ReadResult:
    """Read Caltech-101 (or the demo world's copy) under `root`; `classnames` names a shipped list to check."""
    return scan_classes(Path(root), ROOT_NAME, tuple(exclude), image_check, eval_fraction, test_fraction, classnames)
