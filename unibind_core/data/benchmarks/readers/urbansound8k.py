"""UrbanSound8K as distributed: `metadata/UrbanSound8K.csv` (slice_file_name, fsID, start, end, salience,
fold, classID, class) and `audio/fold1` .. `audio/fold10`.

The authors' protocol is 10-fold cross-validation over the predefined folds (slices of one recording
share a fold); one run here uses the official folds as docs/method.md §5 fixes them: train 1-8,
eval 9, test 10. Clips keep their Freesound format (rate, bit depth, channels vary), so every WAV's
chunk structure is checked when the manifest is built and broken ones are quarantined with the reason.
`root` may be the `UrbanSound8K/` folder or the one holding it.
"""
from __future__ import annotations

from pathlib import Path

from unibind_core.data.benchmarks.manifest import ReadResult
from unibind_core.data.benchmarks.readers.folded import FoldedTable, read_folded

META = "metadata/UrbanSound8K.csv"
REQUIRED_COLUMNS = ("slice_file_name", "fold", "classID", "class")
FOLDS = range(1, 11)
LAYOUT = "[UrbanSound8K/]metadata/UrbanSound8K.csv + audio/fold1..fold10/*.wav"


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


TABLE = FoldedTable("the UrbanSound8K metadata table", META, "the UrbanSound8K audio/ folder (fold1 .. fold10)",
                    REQUIRED_COLUMNS, parse_row, lambda name, fold: f"fold{fold}/{name}", "(classID, class)")


def read(root: Path, test_folds: tuple[int, ...] = (10,), eval_folds: tuple[int, ...] = (9,),
         verify_audio: bool = True, classnames: str | None = "urbansound8k") -> ReadResult:
    """Read UrbanSound8K under `root`; `verify_audio` checks every clip's header (cheap: headers only)."""
    return read_folded(root, TABLE, test_folds, eval_folds, classnames, verify_audio)
