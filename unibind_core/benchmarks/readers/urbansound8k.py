"""UrbanSound8K as distributed: `metadata/UrbanSound8K.csv` (slice_file_name, fsID, start, end, salience,
fold, classID, class) and `audio/fold1` .. `audio/fold10`.

The authors' protocol is 10-fold cross-validation over the predefined folds (slices of one recording
share a fold); one run here uses the official folds as docs/method.md §5 fixes them: train 1-8,
eval 9, test 10. Clips keep their Freesound format (rate, bit depth, channels vary), so every WAV's
chunk structure is checked when the manifest is built and broken ones are quarantined with the reason.
"""
from __future__ import annotations

import os
from pathlib import Path

from unibind_core.benchmarks.classnames import apply_names, match_subset
from unibind_core.benchmarks.manifest import (
    ReadResult,
    csv_rows,
    require_dir,
    require_file,
)
from unibind_core.benchmarks.readers.esc50 import class_list, split_of
from unibind_core.modalities.wav_format import wav_problem

META = "metadata/UrbanSound8K.csv"
REQUIRED_COLUMNS = ("slice_file_name", "fold", "classID", "class")
FOLDS = range(1, 11)


def parse_row(row: dict[str, str | None]) -> tuple[str, int, int, str]:
    """-> (file name, fold, classID, class); ValueError says which field is wrong."""
    name = (row.get("slice_file_name") or "").strip()
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"bad slice_file_name {name!r}")
    category = (row.get("class") or "").strip()
    try:
        fold, class_id = int(row.get("fold") or ""), int(row.get("classID") or "")
    except ValueError:
        raise ValueError(f"fold {row.get('fold')!r} or classID {row.get('classID')!r} is not an integer") from None
    if fold not in FOLDS or class_id < 0 or not category:
        raise ValueError(f"fold {fold} is not 1..10, classID {class_id} is negative or class is empty")
    return name, fold, class_id, category


def fold_sizes(audio: Path) -> dict[int, dict[str, int]]:
    """{fold: {file name: size}}, each fold folder listed once; a missing fold folder lists nothing."""
    return {f: ({e.name: e.stat().st_size for e in os.scandir(audio / f"fold{f}") if e.is_file()}
                if (audio / f"fold{f}").is_dir() else {}) for f in FOLDS}


def read(root: Path, test_folds: tuple[int, ...] = (10,), eval_folds: tuple[int, ...] = (9,),
         verify_audio: bool = True, classnames: str | None = "urbansound8k") -> ReadResult:
    """Read UrbanSound8K under `root`; `verify_audio` checks every WAV's structure (cheap: headers only)."""
    root = Path(root)
    meta = require_file(root / META, "the UrbanSound8K metadata table")
    sizes = fold_sizes(require_dir(root / "audio", "the UrbanSound8K audio/ folder (fold1 .. fold10)"))
    result, pairs, seen = ReadResult(), set(), set()
    for line, row in csv_rows(meta, REQUIRED_COLUMNS):
        try:
            name, fold, class_id, category = parse_row(row)
        except ValueError as exc:
            result.quarantine.append({"path": f"{META}:{line}", "reason": f"bad metadata row: {exc}"})
            continue
        pairs.add((class_id, category))
        _add(result, root, name, fold, class_id, category, sizes, seen, verify_audio,
             split_of(fold, test_folds, eval_folds))
    result.classes = class_list(pairs)
    if classnames is not None:
        result.classes = match_subset(result.classes, classnames, f"the (classID, class) pairs of {meta}")
    apply_names(result.rows, result.classes)
    return result


def _add(result: ReadResult, root: Path, name: str, fold: int, class_id: int, category: str,
         sizes: dict[int, dict[str, int]], seen: set[str], verify: bool, split: str) -> None:
    relative = f"audio/fold{fold}/{name}"
    size = sizes[fold].get(name)
    reason = ("listed more than once" if relative in seen else f"listed in {META} but missing" if size is None
              else "empty file (0 bytes)" if size == 0 else wav_problem(root / relative) if verify else None)
    if reason is not None:
        result.quarantine.append({"path": relative, "reason": reason})
        return
    seen.add(relative)
    result.rows.append({"sample_id": Path(name).stem, "split": split, "class_index": class_id, "class_key": category,
                        "path": relative})
