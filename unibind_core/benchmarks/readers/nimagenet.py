"""N-ImageNet as distributed: `extracted_train/<wnid>/<name>.npz` and `extracted_val/<wnid>/<name>.npz`
event recordings, with the split lists `train_list.txt` and `val_list.txt` at the root.

The lists hold absolute paths of the authors' machine (`/home/jhkim/Datasets/N_Imagenet/extracted_train/
n01440764/n01440764_10026.npz`); only the trailing `<wnid>/<file>` is kept and re-rooted onto this
dataset's `extracted_train/` or `extracted_val/`, so nothing outside the root is ever opened.
Each recording is an .npz whose `event_data` structured array has fields x, y, t, p (640x480 sensor).

Classes are ImageNet-1K's (sorted wnids, shipped `imagenet1k` list). Splits: N-ImageNet's validation
set (recorded from ImageNet val) is `test`; `eval` is a stable-hash slice of train.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from unibind_core.benchmarks.classnames import shipped_classes
from unibind_core.benchmarks.manifest import (
    ClassInfo,
    DatasetLayoutError,
    ReadResult,
    hashed_split,
    require_dir,
    resolve_inside,
)
from unibind_core.modalities.events_format import npz_problem
from unibind_core.tables import Split

LISTS = (("train_list.txt", "extracted_train", Split.TRAIN), ("val_list.txt", "extracted_val", Split.TEST))
_TAIL = re.compile(r"(n\d{8})/([^/\\]+\.npz)")


def check_layout(root: Path, lists: tuple[tuple[str, str, str], ...]) -> None:
    needed = [root / name for name, _, _ in lists] + [root / folder for _, folder, _ in lists]
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        raise DatasetLayoutError("N-ImageNet layout incomplete: expected " + "; ".join(missing))


def re_root(line: str, folder: str) -> str | None:
    """`/any/prefix/<wnid>/<file>.npz` -> `<folder>/<wnid>/<file>.npz`, or None if the tail is not that."""
    parts = line.strip().replace("\\", "/").rsplit("/", 2)
    match = _TAIL.fullmatch("/".join(parts[-2:])) if len(parts) >= 2 else None
    if match is None or match[2].startswith("."):
        return None
    return f"{folder}/{match[1]}/{match[2]}"


def read(root: Path, eval_fraction: float = 0.01, verify_files: bool = True,
         classnames: str | None = "imagenet1k") -> ReadResult:
    """Read N-ImageNet under `root`; `verify_files` checks each .npz's zip end record (one small read)."""
    root = require_dir(Path(root), "the N-ImageNet dataset folder")
    check_layout(root, LISTS)
    classes = list(shipped_classes(classnames)) if classnames else None
    result, listings, seen = ReadResult(), {}, set()
    for list_name, folder, split in LISTS:
        lines = (root / list_name).read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines, 1):
            if line.strip():
                _add(result, root, f"{list_name}:{n}", line, folder, split, eval_fraction, listings, seen,
                     verify_files)
    if classes is None:  # no shipped list: the wnids seen, sorted (the ImageFolder convention)
        classes = [ClassInfo(i, w, w) for i, w in enumerate(sorted({r["class_key"] for r in result.rows}))]
    result.classes = classes
    label_rows(result, {c.key: c for c in classes})
    return result


def label_rows(result: ReadResult, index: dict[str, ClassInfo]) -> None:
    """Class index and name from the wnid folder; rows of a folder that is no class are quarantined."""
    kept = []
    for row in result.rows:
        info = index.get(row["class_key"])
        if info is None:
            result.quarantine.append({"path": row["path"], "reason": f"{row['class_key']} is not an ImageNet-1K wnid"})
            continue
        row["class_index"], row["class_name"] = info.index, info.name
        kept.append(row)
    result.rows = kept


def _add(result: ReadResult, root: Path, where: str, line: str, folder: str, split: str, eval_fraction: float,
         listings: dict[str, dict[str, int]], seen: set[str], verify: bool) -> None:
    relative = re_root(line, folder)
    if relative is None:
        result.quarantine.append({"path": where, "reason": f"does not end in '<wnid>/<file>.npz': {line.strip()!r}"})
        return
    _, wnid, name = relative.split("/")
    folder_key = f"{folder}/{wnid}"
    if folder_key not in listings:  # each class folder listed once, not a stat per list line
        path = root / folder_key
        listings[folder_key] = {e.name: e.stat().st_size for e in os.scandir(path) if e.is_file()} \
            if path.is_dir() else {}
    size = listings[folder_key].get(name)
    reason = ("listed more than once" if relative in seen else "listed but missing on disk" if size is None
              else npz_problem(resolve_inside(root, relative), size) if verify else "empty file" if size == 0 else None)
    if reason is not None:
        result.quarantine.append({"path": relative, "reason": reason})
        return
    seen.add(relative)
    sample_id = name[: -len(".npz")]
    split = split if split == Split.TEST else hashed_split(sample_id, eval_fraction)
    result.rows.append({"sample_id": sample_id, "split": split, "class_index": -1, "class_key": wnid,
                        "path": relative})
