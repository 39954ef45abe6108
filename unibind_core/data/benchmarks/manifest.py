"""The manifest: one row per sample of a benchmark, the contract between readers and every stage.

Readers turn a dataset root laid out as its maintainers distribute it into this table; loaders turn a
row back into a tensor. Paths are stored relative to the dataset root and always re-resolved inside it; a sample stored inside a
file holding many (ModelNet40's HDF5 variant) is addressed `<file>#<index>` (`member_path`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from unibind_core.storage.io import content_hash
from unibind_core.storage.tables import CLASSES_SCHEMA, MANIFEST_SCHEMA, QUARANTINE_SCHEMA, Split


class DatasetLayoutError(ValueError):
    """The dataset root is missing or not laid out as the benchmark is distributed."""


@dataclass(frozen=True)
class ClassInfo:
    index: int  # in a manifest: the class's position 0..C-1 in its class table (ReadResult.dense)
    key: str
    name: str
    dataset_index: int | None = None  # the number the reader found (ESC-50 target, UCF-101 classInd); None if none


@dataclass
class ReadResult:
    """What a reader returns: rows in MANIFEST_SCHEMA order, the class list, and what it refused."""

    rows: list[dict] = field(default_factory=list)
    classes: list[ClassInfo] = field(default_factory=list)
    quarantine: list[dict] = field(default_factory=list)

    def manifest(self) -> pa.Table:
        full = [{name: row.get(name) for name in MANIFEST_SCHEMA.names} for row in self.rows]
        table = pa.Table.from_pylist(full, schema=MANIFEST_SCHEMA)
        return table.sort_by([("sample_id", "ascending")])

    def dense(self) -> ReadResult:
        """The class-index rule (docs/architecture.md, "Class indices"): every stage indexes classes 0..C-1
        (centre checks, classifiers, the aligners' losses), so the manifest's class_index is the class's
        position in its class table, in the order of the reader's numbers, and the reader's own number is
        kept as `dataset_index`. With a shipped list nothing moves (its line order is both); with
        classnames=none a copy holding ESC-50 targets 0, 10, 14 gets classes 0, 1, 2. Rows are renumbered
        in place; a row whose class the table lacks is a DatasetLayoutError naming both."""
        ordered = sorted(self.classes, key=lambda c: c.index)
        position = {c.index: i for i, c in enumerate(ordered)}
        if len(position) != len(ordered):
            twice = sorted({c.index for c in ordered if sum(d.index == c.index for d in ordered) > 1})
            raise DatasetLayoutError(f"the class table numbers two classes {twice[0]}")
        for row in self.rows:
            if row["class_index"] not in position:
                raise DatasetLayoutError(f"sample {row['sample_id']!r} has class {row['class_index']}, which the "
                                         "class table lacks")
            row["class_index"] = position[row["class_index"]]
        self.classes = [ClassInfo(i, c.key, c.name, c.index if c.dataset_index is None else c.dataset_index)
                        for i, c in enumerate(ordered)]
        return self

    def class_table(self) -> pa.Table:
        rows = [{"class_index": c.index, "class_key": c.key, "class_name": c.name, "dataset_index": c.dataset_index}
                for c in self.classes]
        return pa.Table.from_pylist(rows, schema=CLASSES_SCHEMA).sort_by("class_index")

    def quarantine_table(self) -> pa.Table:
        return pa.Table.from_pylist(self.quarantine, schema=QUARANTINE_SCHEMA)

    def missing_classes(self) -> list[ClassInfo]:
        """Classes of the class table without a sample in this copy (a subset of the benchmark): they
        keep their canonical index, and the command output and the manifest metadata name them."""
        present = {row["class_index"] for row in self.rows}
        return [c for c in sorted(self.classes, key=lambda c: c.index) if c.index not in present]


def resolve_inside(root: Path, relative: str) -> Path:
    """Join a manifest path to `root`; refuse anything that escapes it (docs/architecture.md, Tables).

    The check is lexical (absolute paths and `..` that climb out are refused) so that a dataset root
    laid out with symlinks to other disks, as large benchmarks often are, still works.
    """
    root = Path(os.path.abspath(root))
    candidate = Path(os.path.normpath(root / relative))
    if Path(relative).is_absolute() or (candidate != root and root not in candidate.parents):
        raise ValueError(f"path {relative!r} escapes the dataset root {root}; refused")
    return candidate


MEMBER_SEPARATOR = "#"  # `ply_data_train0.h5#12`: sample 12 inside one file that holds many samples


def member_path(file: str, index: int) -> str:
    """The manifest path of sample `index` inside `file` (an HDF5 array of many point clouds)."""
    return f"{file}{MEMBER_SEPARATOR}{index}"


def split_member(relative: str) -> tuple[str, int | None]:
    """(file, index inside it) of a manifest path; index None for the usual one-file-per-sample path. Only
    a trailing `#<digits>` is a member, so a file name that merely contains `#` still reads as itself."""
    file, sep, member = relative.rpartition(MEMBER_SEPARATOR)
    if sep and file and member.isdigit():
        return file, int(member)
    return relative, None


def require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise DatasetLayoutError(f"expected {what} at {path}, found {'a file' if path.exists() else 'nothing'}")
    return path


def require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise DatasetLayoutError(f"expected {what} at {path}, found {'a folder' if path.exists() else 'nothing'}")
    return path


def hashed_split(sample_id: str, eval_fraction: float, test_fraction: float = 0.0) -> Split:
    """Deterministic split for benchmarks without an official one: a stable hash of the sample id.

    Stable under adding or removing other samples, unlike a shuffled index split.
    """
    u = int(content_hash("split", sample_id)[:8], 16) / 0xFFFFFFFF
    if u < test_fraction:
        return Split.TEST
    if u < test_fraction + eval_fraction:
        return Split.EVAL
    return Split.TRAIN
