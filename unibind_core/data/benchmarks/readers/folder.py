"""Your own data, one folder per class: `<root>/<class>/<file>` or `<root>/<split>/<class>/<file>` (splits
train, eval or val, test), files of any modality (the benchmark declares it; a file its loader cannot
decode is quarantined by the features stage; captions may ship in `<root>/unibind_captions.jsonl`). Without
split folders each sample's split is a stable hash of its id, as for Caltech-101; class indices are the sorted
class folder names' positions.
"""
from __future__ import annotations

import os
from pathlib import Path

from unibind_core.data.benchmarks.manifest import ClassInfo, DatasetLayoutError, ReadResult, hashed_split, require_dir
from unibind_core.data.benchmarks.readers.common import EMPTY, Listing, quarantine
from unibind_core.demo.world import CAPTIONS_FILE
from unibind_core.storage.tables import Split

LAYOUT = "<root>/[train|eval|val|test/]<class>/<file>"
SPLIT_FOLDERS = {"train": Split.TRAIN, "eval": Split.EVAL, "val": Split.EVAL, "test": Split.TEST}


def read(root: Path, eval_fraction: float = 0.1, test_fraction: float = 0.3, suffixes: list[str] | None = None
         ) -> ReadResult:
    """Read a folder per class under `root` (split folders optional); `suffixes` keeps only those file
    types (e.g. [".wav"]), the others are quarantined."""
    root = require_dir(Path(root), "the dataset root (a folder per class)")
    listing = Listing(root)
    top = listing.dirs("")
    split_mode = bool(top) and all(name in SPLIT_FOLDERS for name in top)
    groups = [(f"{name}/", SPLIT_FOLDERS[name]) for name in top] if split_mode else [("", None)]
    names = sorted({c for prefix, _ in groups for c in listing.dirs(prefix)})
    if not names:
        raise DatasetLayoutError(f"expected class sub-folders in {root} (layout {LAYOUT}), found none")
    classes = [ClassInfo(i, n, n.replace("_", " ")) for i, n in enumerate(names)]
    index = {c.key: c for c in classes}
    result = ReadResult(classes=classes)
    keep = tuple(s.lower() for s in suffixes) if suffixes else None
    for prefix, split in groups:
        for name in sorted(set(listing.files(prefix)) - {CAPTIONS_FILE}):  # captions shipped beside the classes
            quarantine(result, f"{prefix}{name}", "stray file outside a class folder")
        for folder in listing.dirs(prefix):
            for name, size in sorted(listing.files(f"{prefix}{folder}").items()):
                path = f"{prefix}{folder}/{name}"
                if size == 0:
                    quarantine(result, path, EMPTY)
                    continue
                if keep is not None and not name.lower().endswith(keep):
                    quarantine(result, path, f"not one of the file types {', '.join(keep)}")
                    continue
                sample_id = f"{prefix}{folder}/{os.path.splitext(name)[0]}"
                info = index[folder]
                result.rows.append({"sample_id": sample_id, "class_index": info.index, "class_key": info.key,
                                    "class_name": info.name, "path": path,
                                    "split": str(split or hashed_split(sample_id, eval_fraction, test_fraction))})
    return result
