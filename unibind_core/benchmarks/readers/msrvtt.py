"""MSR-VTT as distributed in its 2016 release, read for 20-category video recognition:
`train_val_videodatainfo.json` and `test_videodatainfo.json` (a `videos` list of entries such as
`{"video_id": "video0", "category": 9, "split": "train", ...}`), with the clips in `TrainValVideo/`
and `TestVideo/` as `<video_id>.mp4`.

The `split` field gives the standard 6,513 / 497 / 2,990 split (train / validate as `eval` / test,
docs/method.md §5). The json holds category integers only; the 20 names ship with the project.
A clip is looked up in its own split's folder first, then in the other (some copies merge them).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from unibind_core.benchmarks.classnames import shipped_classes
from unibind_core.benchmarks.manifest import DatasetLayoutError, ReadResult, require_dir
from unibind_core.tables import Split

INFO_FILES = {"train_val_videodatainfo.json": "TrainValVideo", "test_videodatainfo.json": "TestVideo"}
SPLITS = {"train": Split.TRAIN, "validate": Split.EVAL, "test": Split.TEST}  # json split -> manifest split
_VIDEO_ID = re.compile(r"video\d+")


def check_layout(root: Path) -> None:
    needed = [root / name for name in INFO_FILES] + [root / folder for folder in INFO_FILES.values()]
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        raise DatasetLayoutError("MSR-VTT layout incomplete: expected " + "; ".join(missing))


def load_videos(path: Path) -> list:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetLayoutError(f"{path} is not valid JSON ({exc})") from exc
    videos = info.get("videos") if isinstance(info, dict) else None
    if not isinstance(videos, list):
        raise DatasetLayoutError(f"{path} has no 'videos' list")
    return videos


def entry_problem(entry: object, num_classes: int) -> str | None:
    """Why a `videos` entry cannot be a sample, or None."""
    if not isinstance(entry, dict):
        return "not an object"
    video_id, category, split = entry.get("video_id"), entry.get("category"), entry.get("split")
    if not isinstance(video_id, str) or not _VIDEO_ID.fullmatch(video_id):
        return f"video_id {video_id!r} is not 'video<N>'"
    if not isinstance(category, int) or isinstance(category, bool) or not 0 <= category < num_classes:
        return f"category {category!r} is not an integer in 0..{num_classes - 1}"
    if split not in SPLITS:
        return f"split {split!r} is not one of {', '.join(SPLITS)}"
    return None


def read(root: Path, classnames: str = "msrvtt") -> ReadResult:
    """Read MSR-VTT under `root` for category recognition over the official split."""
    root = require_dir(Path(root), "the MSR-VTT dataset folder")
    check_layout(root)
    classes = list(shipped_classes(classnames))
    listings = {folder: {e.name: e.stat().st_size for e in os.scandir(root / folder) if e.is_file()}
                for folder in INFO_FILES.values()}
    result, seen = ReadResult(classes=classes), set()
    for info_name, own_folder in INFO_FILES.items():
        for k, entry in enumerate(load_videos(root / info_name)):
            problem = entry_problem(entry, len(classes))
            if problem is not None:
                result.quarantine.append({"path": f"{info_name}:videos[{k}]", "reason": problem})
                continue
            _add(result, entry, own_folder, listings, classes, seen)
    return result


def _add(result: ReadResult, entry: dict, own_folder: str, listings: dict[str, dict[str, int]], classes: list,
         seen: set[str]) -> None:
    video_id, name = entry["video_id"], f"{entry['video_id']}.mp4"
    folders = [own_folder] + [f for f in listings if f != own_folder]
    folder = next((f for f in folders if name in listings[f]), None)
    relative = f"{folder or own_folder}/{name}"
    reason = ("listed more than once" if video_id in seen else "listed but missing on disk" if folder is None
              else "empty file" if listings[folder][name] == 0 else None)
    if reason is not None:
        result.quarantine.append({"path": relative, "reason": reason})
        return
    seen.add(video_id)
    info = classes[entry["category"]]
    result.rows.append({"sample_id": video_id, "split": SPLITS[entry["split"]], "class_index": info.index,
                        "class_key": info.key, "class_name": info.name, "path": relative})
