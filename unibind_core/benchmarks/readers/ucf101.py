"""UCF-101 as distributed: `UCF-101/<Class>/v_<Class>_gGG_cCC.avi` plus the official split lists in
`ucfTrainTestlist/` (`classInd.txt`, `trainlist0{1,2,3}.txt`, `testlist0{1,2,3}.txt`).

The eval slice is carved from train by hashing the *group* (`<Class>_gGG`), not the clip: clips of a
group are cut from one long video of one actor, so splitting a group would leak near-duplicates.
"""
from __future__ import annotations

import re
from pathlib import Path

from unibind_core.benchmarks.classnames import apply_names, match_exactly
from unibind_core.benchmarks.manifest import (
    ClassInfo,
    DatasetLayoutError,
    ReadResult,
    hashed_split,
    read_lines,
    require_dir,
    resolve_inside,
)
from unibind_core.tables import Split

_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_GROUP = re.compile(r"_g(\d+)_c\d+$")


def display_name(class_key: str) -> str:
    """CamelCase class -> lower-case words: `ApplyEyeMakeup` -> `apply eye makeup`, `YoYo` -> `yo yo`."""
    return " ".join(w.lower() for w in _WORDS.findall(class_key)) or class_key.lower()


def read_class_index(path: Path) -> list[ClassInfo]:
    """`classInd.txt` lines `1 ApplyEyeMakeup` -> classes with 0-based indices."""
    classes = []
    for line in read_lines(path, "the class index classInd.txt"):
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise DatasetLayoutError(f"{path}: expected '<id> <ClassName>' lines, got {line!r}")
        classes.append(ClassInfo(int(parts[0]) - 1, parts[1], display_name(parts[1])))
    return sorted(classes, key=lambda c: c.index)


def check_layout(root: Path, split: int) -> tuple[Path, Path]:
    """Name every missing piece at once, so one look at the error fixes the whole layout."""
    lists = root / "ucfTrainTestlist"
    needed = [(root / "UCF-101", "the video folder"), (lists / "classInd.txt", "the class index"),
              (lists / f"trainlist0{split}.txt", f"the split-{split} train list"),
              (lists / f"testlist0{split}.txt", f"the split-{split} test list")]
    missing = [f"{what} at {path}" for path, what in needed if not path.exists()]
    if missing:
        raise DatasetLayoutError("UCF-101 layout incomplete: expected " + "; ".join(missing))
    return require_dir(root / "UCF-101", "the video folder"), lists


def read(root: Path, split: int = 1, eval_fraction: float = 0.1, classnames: str | None = None) -> ReadResult:
    """Read UCF-101 under `root`; `classnames` names a shipped list that classInd.txt must equal."""
    root = require_dir(Path(root), "the UCF-101 dataset folder")
    if split not in (1, 2, 3):
        raise ValueError(f"UCF-101 has official splits 1, 2 and 3, not {split}")
    videos, lists = check_layout(root, split)
    classes = read_class_index(lists / "classInd.txt")
    if classnames is not None:
        classes = match_exactly(classes, classnames, str(lists / "classInd.txt"))
    by_key = {c.key: c for c in classes}
    result = ReadResult(classes=classes)
    for official in ("train", "test"):
        for line in read_lines(lists / f"{official}list0{split}.txt", f"the split-{split} {official} list"):
            _add(result, videos, line.split()[0], official, by_key, eval_fraction)
    apply_names(result.rows, result.classes)
    return result


def _add(result: ReadResult, videos: Path, entry: str, official: str, by_key: dict[str, ClassInfo],
         eval_fraction: float) -> None:
    entry = entry.replace("\\", "/")
    rel = f"{videos.name}/{entry}"
    key, _, name = entry.rpartition("/")
    stem = name.rsplit(".", 1)[0]
    if key not in by_key:
        result.quarantine.append({"path": rel, "reason": f"class folder {key!r} is not in classInd.txt"})
        return
    try:
        file = resolve_inside(videos.parent, rel)
    except ValueError as exc:
        result.quarantine.append({"path": rel, "reason": str(exc)})
        return
    if not file.is_file() or file.stat().st_size == 0:
        reason = "listed but missing on disk" if not file.is_file() else "empty file"
        result.quarantine.append({"path": rel, "reason": reason})
        return
    group = _GROUP.search(stem)
    split = Split.TEST if official == "test" else hashed_split(f"{key}_g{group[1] if group else stem}", eval_fraction)
    info = by_key[key]
    result.rows.append({"sample_id": stem, "split": split, "class_index": info.index, "class_key": info.key,
                        "class_name": info.name, "path": rel})
