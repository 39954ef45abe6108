"""N-Caltech101 as distributed: `Caltech101/<class folder>/image_NNNN.bin`, one event recording per
Caltech-101 image (the same folder and file number).

Class list, sample ids and splits follow the Caltech-101 reader exactly, so `paired_path` names the
image this recording was made from and both land in the same split.
"""
from __future__ import annotations

import os
from pathlib import Path

from unibind_core.benchmarks.manifest import ReadResult
from unibind_core.benchmarks.readers.caltech101 import scan_classes
from unibind_core.modalities.events_format import BYTES_PER_EVENT

ROOT_NAME = "Caltech101"
SUFFIX = ".bin"


def event_check(name: str, size: int) -> str | None:
    if os.path.splitext(name)[1].lower() != SUFFIX:
        return f"not an event recording (expected a {SUFFIX} file)"
    if size == 0:
        return "empty file (0 bytes)"
    if size % BYTES_PER_EVENT:
        return f"size {size} bytes is not a multiple of {BYTES_PER_EVENT} (truncated event stream)"
    return None


def read(root: Path, paired_root_name: str = "101_ObjectCategories", paired_suffix: str = ".jpg",
         exclude: tuple[str, ...] = ("BACKGROUND_Google",), eval_fraction: float = 0.1,
         test_fraction: float = 0.3, classnames: str | None = None) -> ReadResult:
    """Read N-Caltech101 under `root`; `paired_path` is relative to the paired Caltech-101 root."""
    result = scan_classes(Path(root), ROOT_NAME, tuple(exclude), event_check, eval_fraction, test_fraction,
                          classnames)
    for row in result.rows:
        row["paired_path"] = f"{paired_root_name}/{row['sample_id']}{paired_suffix}"
    return result
