"""What the readers of clip tables with an official fold column share (ESC-50, UrbanSound8K): a `FoldedTable`
says what differs between them (paths, columns, how a row parses), `read_folded` does the rest.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from unibind_core.data.benchmarks.classnames import apply_names, canonical
from unibind_core.data.benchmarks.manifest import ClassInfo, DatasetLayoutError, ReadResult, require_dir, require_file
from unibind_core.data.benchmarks.readers.common import Listing, csv_rows, entry_problem, find_root, quarantine
from unibind_core.data.benchmarks.readers.file_checks import by_suffix
from unibind_core.storage.tables import Split


def split_of(fold: int, test_folds: tuple[int, ...], eval_folds: tuple[int, ...]) -> str:
    return Split.TEST if fold in test_folds else (Split.EVAL if fold in eval_folds else Split.TRAIN)


def class_list(pairs: set[tuple[int, str]], meta: str) -> list[ClassInfo]:
    """Classes from distinct (target, category) pairs; either side mapping to two is a layout error."""
    by_target: dict[int, set[str]] = {}
    by_category: dict[str, set[int]] = {}
    for target, category in pairs:
        by_target.setdefault(target, set()).add(category)
        by_category.setdefault(category, set()).add(target)
    clashes = [f"target {t} -> {sorted(c)}" for t, c in sorted(by_target.items()) if len(c) > 1]
    clashes += [f"category {c!r} -> {sorted(t)}" for c, t in sorted(by_category.items()) if len(t) > 1]
    if clashes:
        raise DatasetLayoutError(f"{meta} maps classes inconsistently: " + "; ".join(clashes))
    return [ClassInfo(index=t, key=c, name=c.replace("_", " ")) for t, c in sorted(pairs)]


@dataclass(frozen=True)
class FoldedTable:
    """A clip table with an official fold column (ESC-50, UrbanSound8K): what differs between readers."""

    what: str  # "the ESC-50 metadata table", for errors
    meta: str  # its path under the dataset root
    audio: str  # what the audio/ folder holds, for errors
    columns: tuple[str, ...]  # required CSV columns
    parse_row: Callable[[dict[str, str | None]], tuple[str, int, int, str]]  # -> (file, fold, index, key)
    path_of: Callable[[str, int], str]  # (file name, fold) -> its path under audio/
    pairs: str  # how the (index, key) columns are called, for errors


def read_folded(root: Path, table: FoldedTable, test_folds: tuple[int, ...], eval_folds: tuple[int, ...],
                classnames: str | None, verify_audio: bool) -> ReadResult:
    """Every CSV row whose clip exists and passes its header check, split by fold; a bad row or file is
    quarantined with its reason. Classes come from the (index, key) pairs, checked against `classnames`."""
    root = Path(root)
    prefix = find_root(root, lambda p: (p / table.meta).is_file(), table.what, table.meta)
    meta = require_file(root / prefix / table.meta, table.what)
    require_dir(root / prefix / "audio", table.audio)
    listing, check = Listing(root), by_suffix if verify_audio else None
    result, pairs, seen = ReadResult(), set(), set()
    for line, row in csv_rows(meta, table.columns):
        try:
            filename, fold, index, key = table.parse_row(row)
        except ValueError as exc:
            quarantine(result, f"{prefix}{table.meta}:{line}", f"bad metadata row: {exc}")
            continue
        pairs.add((index, key))
        relative = f"{prefix}audio/{table.path_of(filename, fold)}"
        reason = entry_problem(listing, relative, seen, check)
        if reason is not None:
            quarantine(result, relative, reason)
            continue
        result.rows.append({"sample_id": Path(filename).stem, "split": split_of(fold, test_folds, eval_folds),
                            "class_index": index, "class_key": key, "path": relative})
    result.classes = canonical(class_list(pairs, table.meta), classnames, f"the {table.pairs} pairs of {meta}", indexed=True)
    apply_names(result.rows, result.classes)
    return result
