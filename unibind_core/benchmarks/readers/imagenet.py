"""ImageNet-1K (ILSVRC-2012) as distributed: `train/<wnid>/<wnid>_<n>.JPEG`, and `val/` either flat
(`ILSVRC2012_val_00000001.JPEG` ...) and labelled by the devkit, or already sorted into `val/<wnid>/`.

Flat val labels come from `ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt` (line n:
the 1-based ILSVRC2012_ID of image n), mapped to wnids through the devkit's `data/meta.mat`. Those IDs
are NOT the class index: the index is the wnid's position in sorted wnid order (torchvision's
ImageFolder and open_clip's IMAGENET_CLASSNAMES order), taken from the shipped `imagenet1k` list.
Classes are keyed by wnid, never by display name ("sunglasses" names two classes).

Splits: official val is `test`; `eval` is a stable-hash slice of train (docs/method.md §5).
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from scipy.io import loadmat
from scipy.io.matlab import MatReadError

from unibind_core.benchmarks.classnames import match_exactly, shipped_classes
from unibind_core.benchmarks.manifest import (
    ClassInfo,
    DatasetLayoutError,
    ReadResult,
    hashed_split,
    require_dir,
    require_file,
)
from unibind_core.benchmarks.readers.caltech101 import image_check, scan_class_folder
from unibind_core.tables import Split

DEVKIT = "ILSVRC2012_devkit_t12"
GROUND_TRUTH = "data/ILSVRC2012_validation_ground_truth.txt"
META = "data/meta.mat"
WNID = re.compile(r"n\d{8}")


def check_layout(root: Path) -> None:
    missing = [f"{sub}/ at {root / sub}" for sub in ("train", "val") if not (root / sub).is_dir()]
    if missing:
        raise DatasetLayoutError("ImageNet layout incomplete: expected " + "; ".join(missing))


def read_meta(path: Path) -> dict[int, str]:
    """devkit meta.mat -> {ILSVRC2012_ID: wnid} for the 1000 leaf synsets (num_children == 0)."""
    try:
        synsets = loadmat(str(path), squeeze_me=True)["synsets"]
        ids, wnids, children = (synsets[f] for f in ("ILSVRC2012_ID", "WNID", "num_children"))
        return {int(i): str(w) for i, w, c in zip(ids, wnids, children) if int(c) == 0}
    except (MatReadError, KeyError, ValueError, TypeError, IndexError, OSError, NotImplementedError) as exc:
        raise DatasetLayoutError(f"{path} is not a readable ILSVRC-2012 devkit meta.mat ({exc})") from exc


def class_list(root: Path, devkit: str, classnames: str | None) -> list[ClassInfo]:
    """The class table: the shipped list, checked against the devkit's leaf wnids when the devkit is there."""
    meta = root / devkit / META
    on_disk = sorted(read_meta(meta).values()) if meta.is_file() else None
    if classnames is not None:
        if on_disk is None:
            return list(shipped_classes(classnames))
        found = [ClassInfo(i, w, w) for i, w in enumerate(on_disk)]
        return match_exactly(found, classnames, f"the leaf wnids of {meta}")
    wnids = on_disk or sorted(e.name for e in os.scandir(root / "train") if e.is_dir() and WNID.fullmatch(e.name))
    return [ClassInfo(i, w, w) for i, w in enumerate(wnids)]


def scan_wnid_folders(result: ReadResult, root: Path, top: str, index: dict[str, ClassInfo],
                      split_of: Callable[[str], str]) -> None:
    """Rows for the images of every `root/top/<wnid>/`; unknown folders, stray and bad files quarantined."""
    for entry in sorted(os.scandir(root / top), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue
        if not entry.is_dir():
            result.quarantine.append({"path": f"{top}/{entry.name}", "reason": "stray file outside a class folder"})
        elif entry.name not in index:
            result.quarantine.append({"path": f"{top}/{entry.name}",
                                      "reason": "class folder is not one of the ILSVRC-2012 wnids; skipped"})
        else:
            scan_class_folder(result, Path(entry.path), f"{top}/{entry.name}", index[entry.name], image_check,
                              sample_id_of=lambda stem: stem, split_of=split_of)


def read_ground_truth(path: Path, result: ReadResult) -> list[tuple[int, int]]:
    """-> [(image number, ILSVRC2012_ID)], bad lines quarantined."""
    labels, where = [], f"{DEVKIT}/{GROUND_TRUTH}"
    for n, line in enumerate(require_file(path, "the devkit's validation ground truth").read_text().splitlines(), 1):
        if line.strip().isdigit():
            labels.append((n, int(line)))
        else:
            result.quarantine.append({"path": f"{where}:{n}", "reason": f"not an ILSVRC2012_ID: {line!r}"})
    return labels


def val_problem(ilsvrc_id: int, wnid: str | None, entry: os.DirEntry | None, index: dict[str, ClassInfo]
                ) -> str | None:
    """Why a ground-truth line cannot become a sample, or None."""
    if wnid not in index:
        return f"ground-truth ILSVRC2012_ID {ilsvrc_id} is not a leaf synset of meta.mat"
    if entry is None:
        return "listed in the ground truth but missing"
    return "not a regular file" if not entry.is_file() else image_check(entry.name, entry.stat().st_size)


def read_flat_val(result: ReadResult, root: Path, devkit: str, index: dict[str, ClassInfo]) -> None:
    """Rows for the flat val/ folder, labelled by the devkit ground truth through meta.mat."""
    meta = root / devkit / META
    id_to_wnid = read_meta(require_file(meta, "the devkit's meta.mat (flat val/ needs it for labels)"))
    files = {os.path.splitext(e.name)[0]: e for e in os.scandir(root / "val") if not e.name.startswith(".")}
    labelled = set()
    for n, ilsvrc_id in read_ground_truth(root / devkit / GROUND_TRUTH, result):
        stem = f"ILSVRC2012_val_{n:08d}"
        labelled.add(stem)
        wnid, entry = id_to_wnid.get(ilsvrc_id), files.get(stem)
        reason = val_problem(ilsvrc_id, wnid, entry, index)
        if reason is not None:
            result.quarantine.append({"path": f"val/{entry.name if entry else stem}", "reason": reason})
            continue
        info = index[wnid]
        result.rows.append({"sample_id": stem, "split": Split.TEST, "class_index": info.index, "class_key": info.key,
                            "class_name": info.name, "path": f"val/{entry.name}"})
    for stem in sorted(set(files) - labelled):
        result.quarantine.append({"path": f"val/{files[stem].name}", "reason": "no line in the devkit ground truth"})


def read(root: Path, eval_fraction: float = 0.01, devkit: str = DEVKIT, classnames: str | None = "imagenet1k"
         ) -> ReadResult:
    """Read ImageNet-1K under `root` (train + official val); see the module docstring for the layouts."""
    root = require_dir(Path(root), "the ImageNet dataset folder")
    check_layout(root)
    result = ReadResult(classes=class_list(root, devkit, classnames))
    index = {c.key: c for c in result.classes}
    scan_wnid_folders(result, root, "train", index, lambda sid: hashed_split(sid, eval_fraction))
    sorted_val = any(e.is_dir() and WNID.fullmatch(e.name) for e in os.scandir(root / "val"))
    if sorted_val:
        scan_wnid_folders(result, root, "val", index, lambda sid: Split.TEST)
    elif not (root / devkit / GROUND_TRUTH).is_file():
        raise DatasetLayoutError(
            f"val/ at {root / 'val'} is flat, so its labels must come from the devkit: expected "
            f"{root / devkit / GROUND_TRUTH} and {root / devkit / META} (or sort val/ into <wnid>/ folders)")
    else:
        read_flat_val(result, root, devkit, index)
    return result
