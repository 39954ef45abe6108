"""ESC-50 as distributed: `audio/*.wav` and `meta/esc50.csv` (filename, fold, target, category, ...);
`root` may be the `ESC-50-master/` folder or the one holding it.

The official protocol is 5-fold cross-validation; one run uses `test_folds` for test, `eval_folds` to
select checkpoints and the rest for training. Classes come from the CSV's (target, category) pairs, checked against the shipped list (a copy with
some classes keeps their targets). Every clip's RIFF/WAVE header and data-chunk size are checked.
"""
from __future__ import annotations

from pathlib import Path

from unibind_core.benchmarks.classnames import apply_names, canonical
from unibind_core.benchmarks.manifest import ClassInfo, DatasetLayoutError, ReadResult, require_dir, require_file
from unibind_core.benchmarks.readers.checks import by_suffix
from unibind_core.benchmarks.readers.common import Listing, csv_rows, entry_problem, find_root, quarantine
from unibind_core.tables import Split

META = "meta/esc50.csv"
REQUIRED_COLUMNS = ("filename", "fold", "target", "category")
LAYOUT = "[ESC-50-master/]meta/esc50.csv + audio/*.wav"


def parse_row(row: dict[str, str | None]) -> tuple[str, int, int, str]:
    """-> (filename, fold, target, category); ValueError says which field is wrong."""
    filename = (row.get("filename") or "").strip()
    if not filename or "/" in filename or "\\" in filename or filename.startswith("."):
        raise ValueError(f"bad filename {filename!r}")
    category = (row.get("category") or "").strip()
    if not category:
        raise ValueError("empty category")
    try:
        fold, target = int(row.get("fold") or ""), int(row.get("target") or "")
    except ValueError:
        raise ValueError(f"fold {row.get('fold')!r} or target {row.get('target')!r} is not an integer") from None
    if target < 0:
        raise ValueError(f"negative target {target}")
    return filename, fold, target, category


def split_of(fold: int, test_folds: tuple[int, ...], eval_folds: tuple[int, ...]) -> str:
    return Split.TEST if fold in test_folds else (Split.EVAL if fold in eval_folds else Split.TRAIN)


def class_list(pairs: set[tuple[int, str]]) -> list[ClassInfo]:
    """Classes from distinct (target, category) pairs; either side mapping to two is a layout error."""
    by_target: dict[int, set[str]] = {}
    by_category: dict[str, set[int]] = {}
    for target, category in pairs:
        by_target.setdefault(target, set()).add(category)
        by_category.setdefault(category, set()).add(target)
    clashes = [f"target {t} -> {sorted(c)}" for t, c in sorted(by_target.items()) if len(c) > 1]
    clashes += [f"category {c!r} -> {sorted(t)}" for c, t in sorted(by_category.items()) if len(t) > 1]
    if clashes:
        raise DatasetLayoutError(f"{META} maps classes inconsistently: " + "; ".join(clashes))
    return [ClassInfo(index=t, key=c, name=c.replace("_", " ")) for t, c in sorted(pairs)]


def read(root: Path, test_folds: tuple[int, ...] = (5,), eval_folds: tuple[int, ...] = (4,),
         classnames: str | None = None, verify_audio: bool = True) -> ReadResult:
    """Read ESC-50 (or the demo world's copy) under `root`; with `classnames` the CSV's (target, category)
    pairs are checked against that list, which then is the class table."""
    root = Path(root)
    prefix = find_root(root, lambda p: (p / META).is_file(), "the ESC-50 metadata table", META)
    meta = require_file(root / prefix / META, "the ESC-50 metadata table")
    require_dir(root / prefix / "audio", "the ESC-50 audio/ folder")
    listing, check = Listing(root), by_suffix if verify_audio else None
    result, pairs, seen = ReadResult(), set(), set()
    for line, row in csv_rows(meta, REQUIRED_COLUMNS):
        try:
            filename, fold, target, category = parse_row(row)
        except ValueError as exc:
            quarantine(result, f"{prefix}{META}:{line}", f"bad metadata row: {exc}")
            continue
        pairs.add((target, category))
        relative = f"{prefix}audio/{filename}"
        reason = entry_problem(listing, relative, seen, check)
        if reason is not None:
            quarantine(result, relative, reason)
            continue
        result.rows.append({"sample_id": Path(filename).stem, "split": split_of(fold, test_folds, eval_folds),
                            "class_index": target, "class_key": category, "path": relative})
    result.classes = canonical(class_list(pairs), classnames, f"the (target, category) pairs of {meta}", indexed=True)
    apply_names(result.rows, result.classes)
    return result
