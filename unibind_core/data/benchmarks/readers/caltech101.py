"""Caltech-101 as distributed: `101_ObjectCategories/<class folder>/image_NNNN.jpg`, with or without
the `BACKGROUND_Google` clutter folder (excluded by default). `root` may be the folder holding
`101_ObjectCategories/` (the `caltech-101/` archive folder), the one above it, or `101_ObjectCategories/`.

Class indices come from the shipped list (sorted folder order of the full release), looked up by
folder name, so a copy holding some classes keeps them. There is no official split: each sample's
split is a stable hash of its id "<folder>/<stem>". The N-Caltech101 reader uses the same ids and
helpers, so an image and its event recording always land in the same split.
"""
from __future__ import annotations

import os
from pathlib import Path

from unibind_core.data.benchmarks.classnames import apply_names, canonical
from unibind_core.data.benchmarks.manifest import ClassInfo, DatasetLayoutError, ReadResult, hashed_split
from unibind_core.data.benchmarks.readers.file_checks import IMAGE_SUFFIXES, suffix_check
from unibind_core.data.benchmarks.readers.common import FileCheck, Listing, find_root, quarantine

ROOT_NAME = "101_ObjectCategories"
LAYOUT = f"[caltech-101/]{ROOT_NAME}/<class>/image_NNNN.jpg (BACKGROUND_Google optional)"


def display_name(folder: str) -> str:
    return folder.replace("_", " ").lower()


def class_folders(listing: Listing, top: str, exclude: tuple[str, ...]) -> list[ClassInfo]:
    """Sorted, visible sub-folders of `top` minus `exclude`; the index is the position in that list."""
    kept = [n for n in listing.dirs(top) if n not in set(exclude)]
    return [ClassInfo(index=i, key=n, name=display_name(n)) for i, n in enumerate(kept)]


def top_folder(root: Path, top_name: str) -> str:
    """The class-folder parent relative to `root`: `<top_name>` (one or two levels down) or '' when
    `root` is that folder itself."""
    if root.name == top_name and not (root / top_name).is_dir():
        return ""
    return find_root(root, lambda p: (p / top_name).is_dir(), "the folder of class sub-folders",
                     top_name) + top_name


def scan_classes(root: Path, top_name: str, exclude: tuple[str, ...], check: FileCheck,
                 eval_fraction: float, test_fraction: float, classnames: str | None = None) -> ReadResult:
    """One row per accepted file of every class folder under `root/.../top_name`; the rest quarantined.

    With `classnames`, every folder must be a class of that list, which gives indices and display names.
    """
    root = Path(root)
    top = top_folder(root, top_name)
    listing = Listing(root)
    found = class_folders(listing, top, exclude)
    if not found:
        raise DatasetLayoutError(f"expected class sub-folders in {root / top}, found none")
    result = ReadResult(classes=canonical(found, classnames, f"the class folders of {root / top}", indexed=False))
    prefix = f"{top}/" if top else ""
    for name in sorted(listing.files(top)):
        quarantine(result, f"{prefix}{name}", "stray file outside a class folder")
    index = {c.key: c for c in result.classes}
    for folder in (c.key for c in found):
        info = index[folder]
        for name, size in sorted(listing.files(f"{prefix}{folder}").items()):
            path = f"{prefix}{folder}/{name}"
            reason = "empty file (0 bytes)" if size == 0 else check(root / path, size)
            if reason is not None:
                quarantine(result, path, reason)
                continue
            sample_id = f"{folder}/{os.path.splitext(name)[0]}"
            result.rows.append({"sample_id": sample_id, "split": hashed_split(sample_id, eval_fraction, test_fraction),
                                "class_index": info.index, "class_key": info.key, "path": path})
    apply_names(result.rows, result.classes)
    return result


def read(root: Path, exclude: tuple[str, ...] = ("BACKGROUND_Google",), eval_fraction: float = 0.1,
         test_fraction: float = 0.3, classnames: str | None = None, verify_files: bool = True) -> ReadResult:
    """Read Caltech-101 (or the demo world's copy) under `root`; `classnames` names the class list
    (shipped name or file); `verify_files` checks every image header."""
    check = suffix_check(IMAGE_SUFFIXES, "an image file", verify_files)
    return scan_classes(Path(root), ROOT_NAME, tuple(exclude), check, eval_fraction, test_fraction, classnames)
