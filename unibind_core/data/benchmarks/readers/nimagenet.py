"""N-ImageNet as distributed: `extracted_train/<wnid>/<name>.npz` and `extracted_val/<wnid>/<name>.npz`
event recordings, with the split lists `train_list.txt` and `val_list.txt` at the root.

The lists hold absolute paths of the authors' machine (`/home/jhkim/Datasets/N_Imagenet/extracted_train/
n01440764/n01440764_10026.npz`); only the trailing `<wnid>/<file>` is kept and re-rooted onto this
dataset's `extracted_train/` or `extracted_val/`, so nothing outside the root is ever opened.
Each recording is an .npz (written by np.savez or np.savez_compressed) whose `event_data` structured
array has fields x, y, t, p (640x480 sensor), or four arrays x_pos, y_pos, timestamp, polarity; keys and
dtypes are checked from the archive's headers while reading. `root` may be `N_Imagenet/` or the folder
holding it. A copy holding some class folders keeps their indices: list lines of absent class folders
are skipped (the classes are reported missing).

Classes are ImageNet-1K's (sorted wnids, shipped `imagenet1k` list). Splits: N-ImageNet's validation
set (recorded from ImageNet val) is `test`; `eval` is a stable-hash slice of train.
"""
from __future__ import annotations

import re
from pathlib import Path

from unibind_core.data.benchmarks.classnames import canonical
from unibind_core.data.benchmarks.manifest import ClassInfo, DatasetLayoutError, ReadResult, hashed_split
from unibind_core.data.benchmarks.readers.file_checks import npz_events_problem
from unibind_core.data.benchmarks.readers.common import Listing, entry_problem, find_root, quarantine
from unibind_core.storage.tables import Split

LAYOUT = "[N_Imagenet/]train_list.txt + val_list.txt + extracted_{train,val}/<wnid>/*.npz"
LISTS = (("train_list.txt", "extracted_train", Split.TRAIN), ("val_list.txt", "extracted_val", Split.TEST))
_TAIL = re.compile(r"(n\d{8})/([^/\\]+\.npz)")


def check_layout(root: Path, lists: tuple[tuple[str, str, str], ...]) -> None:
    needed = [root / name for name, _, _ in lists] + [root / folder for _, folder, _ in lists]
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        raise DatasetLayoutError("N-ImageNet layout incomplete: expected " + "; ".join(missing))


def re_root(line: str, folder: str) -> str | None:
    """`/any/prefix/<wnid>/<file>.npz` -> `<folder>/<wnid>/<file>.npz`, or None if the tail is not that."""
    parts = line.strip().replace("\\", "/").rsplit("/", 2)
    match = _TAIL.fullmatch("/".join(parts[-2:])) if len(parts) >= 2 else None
    if match is None or match[2].startswith("."):
        return None
    return f"{folder}/{match[1]}/{match[2]}"


def read(root: Path, eval_fraction: float = 0.01, verify_files: bool = True,
         classnames: str | None = "imagenet1k") -> ReadResult:
    """Read N-ImageNet under `root`; `verify_files` checks each .npz's zip structure, keys and dtypes."""
    root = Path(root)
    prefix = find_root(root, lambda p: (p / LISTS[0][0]).is_file(), "the N-ImageNet lists", fallback=True)
    check_layout(root / prefix, LISTS)
    result, listing, seen = ReadResult(), Listing(root), set()
    check = npz_events_problem if verify_files else None
    for list_name, folder, split in LISTS:
        lines = (root / prefix / list_name).read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines, 1):
            if line.strip():
                _add(result, listing, f"{prefix}{list_name}:{n}", line, prefix + folder, split, eval_fraction,
                     seen, check)
    wnids = sorted({r["class_key"] for r in result.rows})
    result.classes = canonical([ClassInfo(i, w, w) for i, w in enumerate(wnids)], classnames,
                               f"the class folders of {root / prefix}", indexed=False)
    index = {c.key: c for c in result.classes}
    for row in result.rows:
        row["class_index"], row["class_name"] = index[row["class_key"]].index, index[row["class_key"]].name
    return result


def _add(result: ReadResult, listing: Listing, where: str, line: str, folder: str, split: str, eval_fraction: float,
         seen: set[str], check) -> None:
    relative = re_root(line, folder)
    if relative is None:
        quarantine(result, where, f"does not end in '<wnid>/<file>.npz': {line.strip()!r}")
        return
    wnid, name = relative.split("/")[-2:]
    if not listing.has_dir(f"{folder}/{wnid}"):
        return  # a copy without this class: reported as a missing class, not per recording
    reason = entry_problem(listing, relative, seen, check)
    if reason is not None:
        quarantine(result, relative, reason)
        return
    sample_id = name[: -len(".npz")]
    split = split if split == Split.TEST else hashed_split(sample_id, eval_fraction)
    result.rows.append({"sample_id": sample_id, "split": split, "class_index": -1, "class_key": wnid,
                        "path": relative})
