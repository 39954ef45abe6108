"""ESC-50 as distributed: `audio/*.wav` and `meta/esc50.csv` (filename, fold, target, category, ...);
`root` may be the `ESC-50-master/` folder or the one holding it.

The official protocol is 5-fold cross-validation; one run uses `test_folds` for test, `eval_folds` to
select checkpoints and the rest for training. Classes come from the CSV's (target, category) pairs, checked against the shipped list (a copy with
some classes keeps their targets). Every clip's RIFF/WAVE header and data-chunk size are checked.
"""
from __future__ import annotations

from pathlib import Path

from unibind_core.data.benchmarks.manifest import ReadResult
from unibind_core.data.benchmarks.readers.folded import FoldedTable, read_folded

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


TABLE = FoldedTable("the ESC-50 metadata table", META, "the ESC-50 audio/ folder", REQUIRED_COLUMNS, parse_row,
                    lambda filename, fold: filename, "(target, category)")


def read(root: Path, test_folds: tuple[int, ...] = (5,), eval_folds: tuple[int, ...] = (4,),
         classnames: str | None = None, verify_audio: bool = True) -> ReadResult:
    """Read ESC-50 (or the demo world's copy) under `root`; with `classnames` the CSV's (target, category)
    pairs are checked against that list, which then is the class table."""
    return read_folded(root, TABLE, test_folds, eval_folds, classnames, verify_audio)
