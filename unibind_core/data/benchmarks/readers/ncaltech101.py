"""N-Caltech101 as distributed: `Caltech101/<class folder>/image_NNNN.bin`, one event recording per
Caltech-101 image (the same folder and file number); `root` may also be the folder above.

Class list, sample ids and splits follow the Caltech-101 reader exactly, so `paired_path` names the
image this recording was made from and both land in the same split. A `.bin` whose length is not a
whole number of 5-byte events is a cut download and is quarantined.
"""
from __future__ import annotations

from pathlib import Path

from unibind_core.data.benchmarks.manifest import ReadResult
from unibind_core.data.benchmarks.readers.caltech101 import scan_classes
from unibind_core.data.benchmarks.readers.file_checks import suffix_check

ROOT_NAME = "Caltech101"
SUFFIX = ".bin"
LAYOUT = f"[N-Caltech101/]{ROOT_NAME}/<class>/image_NNNN.bin (5-byte events)"


def read(root: Path, paired_root_name: str = "101_ObjectCategories", paired_suffix: str = ".jpg",
         exclude: tuple[str, ...] = ("BACKGROUND_Google",), eval_fraction: float = 0.1,
         test_fraction: float = 0.3, classnames: str | None = None) -> ReadResult:
    """Read N-Caltech101 under `root`; `paired_path` is relative to the paired Caltech-101 root."""
    check = suffix_check((SUFFIX,), f"an event recording (expected a {SUFFIX} file)")
    result = scan_classes(Path(root), ROOT_NAME, tuple(exclude), check, eval_fraction, test_fraction, classnames)
    for row in result.rows:
        row["paired_path"] = f"{paired_root_name}/{row['sample_id']}{paired_suffix}"
    return result
