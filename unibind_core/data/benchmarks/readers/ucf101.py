"""UCF-101 as distributed: `UCF-101/<Class>/v_<Class>_gGG_cCC.avi` plus the official split lists in
`ucfTrainTestlist/` (`classInd.txt`, `trainlist0{1,2,3}.txt`, `testlist0{1,2,3}.txt`); `root` may be
the folder holding both or the one above it.

classInd.txt states each class's index; it must agree with the shipped list (a re-ordered copy is
refused). A copy holding some class folders keeps their indices: list entries of absent class folders
are skipped (the classes are reported missing), a listed clip missing from a present folder is
quarantined. Every clip's container is opened (header only) while reading.
The eval slice is carved from train by hashing the *group* (`<Class>_gGG`), not the clip: clips of a
group are cut from one long video of one actor, so splitting a group would leak near-duplicates.
"""
from __future__ import annotations

import re
from pathlib import Path

from unibind_core.data.benchmarks.classnames import apply_names, canonical
from unibind_core.data.benchmarks.manifest import ClassInfo, DatasetLayoutError, ReadResult, hashed_split
from unibind_core.data.benchmarks.readers.file_checks import by_suffix
from unibind_core.data.benchmarks.readers.common import Listing, entry_problem, find_root, quarantine, read_lines
from unibind_core.storage.tables import Split

LAYOUT = "[ucf101/]UCF-101/<Class>/v_<Class>_gGG_cCC.avi + ucfTrainTestlist/{classInd,trainlist0N,testlist0N}.txt"
VIDEOS, LISTS = "UCF-101", "ucfTrainTestlist"

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


def check_layout(root: Path, prefix: str, split: int) -> None:
    """Name every missing piece at once, so one look at the error fixes the whole layout."""
    lists = root / prefix / LISTS
    needed = [(root / prefix / VIDEOS, "the video folder"), (lists / "classInd.txt", "the class index"),
              (lists / f"trainlist0{split}.txt", f"the split-{split} train list"),
              (lists / f"testlist0{split}.txt", f"the split-{split} test list")]
    missing = [f"{what} at {path}" for path, what in needed if not path.exists()]
    if missing:
        raise DatasetLayoutError("UCF-101 layout incomplete: expected " + "; ".join(missing))


def read(root: Path, split: int = 1, eval_fraction: float = 0.1, classnames: str | None = None,
         verify_videos: bool = True) -> ReadResult:
    """Read UCF-101 under `root`; `classnames` names the list classInd.txt must agree with."""
    root = Path(root)
    if split not in (1, 2, 3):
        raise DatasetLayoutError(f"UCF-101 has official splits 1, 2 and 3, not {split} (reader option split)")
    prefix = find_root(root, lambda p: (p / LISTS).is_dir() or (p / VIDEOS).is_dir(), "the UCF-101 folders",
                       f"{VIDEOS}/ and {LISTS}/", fallback=True)
    check_layout(root, prefix, split)
    lists = root / prefix / LISTS
    found = read_class_index(lists / "classInd.txt")
    classes = canonical(found, classnames, str(lists / "classInd.txt"), indexed=True)
    by_key = {c.key: c for c in classes}
    result, listing, seen = ReadResult(classes=classes), Listing(root), set()
    check = by_suffix if verify_videos else None
    for official in ("train", "test"):
        for line in read_lines(lists / f"{official}list0{split}.txt", f"the split-{split} {official} list"):
            _add(result, listing, prefix, line.split()[0], official, by_key, eval_fraction, seen, check)
    apply_names(result.rows, result.classes)
    return result


def _add(result: ReadResult, listing: Listing, prefix: str, entry: str, official: str,
         by_key: dict[str, ClassInfo], eval_fraction: float, seen: set[str], check) -> None:
    entry = entry.replace("\\", "/")
    rel = f"{prefix}{VIDEOS}/{entry}"
    key, _, name = entry.rpartition("/")
    stem = name.rsplit(".", 1)[0]
    if key not in by_key:
        quarantine(result, rel, f"class folder {key!r} is not in classInd.txt")
        return
    if not listing.has_dir(f"{prefix}{VIDEOS}/{key}"):
        return  # a copy without this class: reported as a missing class, not per clip
    reason = entry_problem(listing, rel, seen, check)
    if reason is not None:
        quarantine(result, rel, reason)
        return
    group = _GROUP.search(stem)
    split = Split.TEST if official == "test" else hashed_split(f"{key}_g{group[1] if group else stem}", eval_fraction)
    info = by_key[key]
    result.rows.append({"sample_id": stem, "split": split, "class_index": info.index, "class_key": info.key,
                        "path": rel})
