"""ShapeNet-part, the normal-sampled release `shapenetcore_partanno_segmentation_benchmark_v0_normal/`:
`synsetoffset2category.txt` (`Airplane<TAB>02691156`), `<synset offset>/<model id>.txt` point files
(`x y z nx ny nz part-label` per line, space separated) and the official lists
`train_test_split/shuffled_{train,val,test}_file_list.json` (entries `shape_data/<synset>/<model id>`).

The task here is classifying the 16 object categories (keyed by synset offset, indexed in the order of
synsetoffset2category.txt); the part labels are not used. Splits are the official lists: train, val
as `eval`, test. `root` may be the release folder itself (under any name) or the folder holding it. A
copy holding some category folders keeps the canonical indices: list entries of an absent category
folder are skipped (the category is reported missing). Each point file's first row is checked.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from unibind_core.data.benchmarks.classnames import apply_names, canonical
from unibind_core.data.benchmarks.manifest import (
    ClassInfo,
    DatasetLayoutError,
    ReadResult,
    require_file,
)
from unibind_core.data.benchmarks.readers.file_checks import point_text_problem
from unibind_core.data.benchmarks.readers.common import find_root
from unibind_core.storage.tables import Split

RELEASE = "shapenetcore_partanno_segmentation_benchmark_v0_normal"
CATEGORIES = "synsetoffset2category.txt"
LAYOUT = (f"[{RELEASE}/]synsetoffset2category.txt + <synset>/<model>.txt + "
          "train_test_split/shuffled_{train,val,test}_file_list.json")
SPLITS = (("train", Split.TRAIN), ("val", Split.EVAL), ("test", Split.TEST))  # list name -> manifest split
_ENTRY = re.compile(r"shape_data/(\d{8})/([0-9a-zA-Z_-]+)")


def read_categories(path: Path) -> list[ClassInfo]:
    classes = []
    for n, line in enumerate(require_file(path, "the category list").read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            raise DatasetLayoutError(f"{path}:{n}: expected '<Category> <synset offset>', got {line!r}")
        classes.append(ClassInfo(len(classes), parts[1], parts[0].lower()))
    return classes


def read_split_list(path: Path) -> list:
    try:
        entries = json.loads(require_file(path, "an official split list").read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetLayoutError(f"{path} is not valid JSON ({exc})") from exc
    if not isinstance(entries, list):
        raise DatasetLayoutError(f"{path} should hold a JSON list of 'shape_data/<synset>/<id>' entries")
    return entries


def read(root: Path, classnames: str | None = "shapenet_part") -> ReadResult:
    """Read the ShapeNet-part normal-sampled release under `root` for 16-category classification."""
    root = Path(root)
    prefix = find_root(root, lambda p: (p / CATEGORIES).is_file(), "the category list", CATEGORIES)
    classes = read_categories(root / prefix / CATEGORIES)
    if classnames is not None:
        classes = canonical(classes, classnames, str(root / prefix / CATEGORIES), indexed=True)
    by_key, sizes, seen = {c.key: c for c in classes}, {}, set()
    result = ReadResult(classes=classes)
    for list_name, split in SPLITS:
        name = f"train_test_split/shuffled_{list_name}_file_list.json"
        for k, entry in enumerate(read_split_list(root / prefix / name)):
            _add(result, root, prefix, f"{prefix}{name}[{k}]", entry, split, by_key, sizes, seen)
    apply_names(result.rows, result.classes)
    return result


def _add(result: ReadResult, root: Path, prefix: str, where: str, entry: object, split: str,
         by_key: dict[str, ClassInfo], sizes: dict[str, dict[str, int] | None], seen: set[str]) -> None:
    match = _ENTRY.fullmatch(entry) if isinstance(entry, str) else None
    if match is None:
        result.quarantine.append({"path": where, "reason": f"not a 'shape_data/<synset>/<id>' entry: {entry!r}"})
        return
    synset, model = match.groups()
    relative = f"{prefix}{synset}/{model}.txt"
    if synset not in by_key:
        result.quarantine.append({"path": relative, "reason": f"synset {synset} is not in {CATEGORIES}"})
        return
    if synset not in sizes:
        folder = root / prefix / synset
        sizes[synset] = {e.name: e.stat().st_size for e in os.scandir(folder) if e.is_file()} if folder.is_dir() else None
    if sizes[synset] is None:
        return  # a copy without this category: reported as a missing class, not per file
    size = sizes[synset].get(f"{model}.txt")
    reason = ("listed in more than one split list" if relative in seen else "listed but missing on disk"
              if size is None else "empty file" if size == 0 else point_text_problem(root / relative, size))
    if reason is not None:
        result.quarantine.append({"path": relative, "reason": reason})
        return
    seen.add(relative)
    info = by_key[synset]
    result.rows.append({"sample_id": f"{synset}/{model}", "split": split, "class_index": info.index,
                        "class_key": info.key, "path": relative})
