"""MSR-VTT as distributed, read for 20-category video recognition. Annotations, either:

- the 2016 release's `train_val_videodatainfo.json` and `test_videodatainfo.json`, or
- `MSRVTT_data.json` (the same `videos` and `sentences` for all 10,000 clips, as CLIP4Clip ships it),

each a `videos` list of entries such as `{"video_id": "video0", "category": 9, "split": "train", ...}`
and a `sentences` list (`{"video_id": "video0", "caption": "...", "sen_id": 0}`); the files may sit at
the root or in `annotation/`. Clips are `<video_id>.mp4` in `TrainValVideo/` and `TestVideo/` (the
release) or all together in `videos/all/` (the common mirror). `root` may be the dataset folder or the
one holding it.

The `split` field gives the standard 6,513 / 497 / 2,990 split (train / validate as `eval` / test,
docs/method.md §5). The json holds category integers only; the 20 names ship with the project. A clip
is looked up in its own split's folder first, then in the others. Each row's caption is the clip's
first sentence. Every clip's container is opened (header only) while reading.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from unibind_core.data.benchmarks.classnames import class_list
from unibind_core.data.benchmarks.manifest import DatasetLayoutError, ReadResult
from unibind_core.data.benchmarks.readers.file_checks import by_suffix
from unibind_core.data.benchmarks.readers.common import Listing, entry_problem, find_root, quarantine
from unibind_core.storage.tables import Split

RELEASE_INFO = {"train_val_videodatainfo.json": "TrainValVideo", "test_videodatainfo.json": "TestVideo"}
MERGED_INFO = "MSRVTT_data.json"
ALL_VIDEOS = "videos/all"
ANNOTATION_DIRS = ("", "annotation/")
SPLITS = {"train": Split.TRAIN, "validate": Split.EVAL, "test": Split.TEST}  # json split -> manifest split
LAYOUT = ("train_val_videodatainfo.json + test_videodatainfo.json (or MSRVTT_data.json) + "
          "TrainValVideo/ + TestVideo/ (or videos/all/)")
_VIDEO_ID = re.compile(r"video\d+")


def _annotations(here: Path) -> tuple[str, list[str]] | None:
    """(annotation folder, info files) found under `here`: the release pair, else the merged file."""
    for folder in ANNOTATION_DIRS:
        if all((here / folder / name).is_file() for name in RELEASE_INFO):
            return folder, list(RELEASE_INFO)
        if (here / folder / MERGED_INFO).is_file():
            return folder, [MERGED_INFO]
    return None


def video_folders(root: Path, prefix: str) -> list[str]:
    present = [f for f in (*RELEASE_INFO.values(), ALL_VIDEOS) if (root / prefix / f).is_dir()]
    if not present:
        raise DatasetLayoutError(f"MSR-VTT layout incomplete: expected the clips in {root / prefix / 'TrainValVideo'} "
                                 f"and {root / prefix / 'TestVideo'}, or in {root / prefix / ALL_VIDEOS}")
    return present


def load_info(path: Path) -> dict:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetLayoutError(f"{path} is not valid JSON ({exc})") from exc
    if not isinstance(info, dict) or not isinstance(info.get("videos"), list):
        raise DatasetLayoutError(f"{path} has no 'videos' list")
    return info


def first_captions(info: dict) -> dict[str, str]:
    """{video_id: its first caption} from the `sentences` list (malformed entries ignored)."""
    captions: dict[str, tuple[int, str]] = {}
    for k, s in enumerate(info.get("sentences") or []):
        if isinstance(s, dict) and isinstance(s.get("video_id"), str) and isinstance(s.get("caption"), str):
            order = s.get("sen_id") if isinstance(s.get("sen_id"), int) else k
            if s["video_id"] not in captions or order < captions[s["video_id"]][0]:
                captions[s["video_id"]] = (order, s["caption"].strip())
    return {v: c for v, (_, c) in captions.items()}


def entry_reason(entry: object, num_classes: int) -> str | None:
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


def read(root: Path, classnames: str | None = "msrvtt", verify_videos: bool = True) -> ReadResult:
    """Read MSR-VTT under `root` for category recognition over the official split. The annotations number
    the categories without naming them, so the classes always come from a list (`classnames`)."""
    if classnames is None:
        raise DatasetLayoutError("MSR-VTT's annotations hold category numbers only, no names: the reader option "
                                 "classnames=none cannot apply; keep the shipped list (classnames=msrvtt) or give "
                                 "a list file of the 20 categories in the json's order (classnames=<file>)")
    root = Path(root)
    prefix = find_root(root, lambda p: _annotations(p) is not None, "the MSR-VTT annotations", fallback=True)
    found = _annotations(root / prefix)
    if found is None:
        expected = [str(root / prefix / n) for n in RELEASE_INFO] + [str(root / prefix / MERGED_INFO)]
        raise DatasetLayoutError(f"MSR-VTT layout incomplete: expected {expected[0]} and {expected[1]} (or "
                                 f"{expected[2]}), with the clips in {root / prefix / 'TrainValVideo'} and "
                                 f"{root / prefix / 'TestVideo'} (or {root / prefix / ALL_VIDEOS})")
    folder, info_files = found
    classes = list(class_list(classnames))
    folders = video_folders(root, prefix)
    result, listing, seen = ReadResult(classes=classes), Listing(root), set()
    check = by_suffix if verify_videos else None
    for info_name in info_files:
        info = load_info(root / prefix / folder / info_name)
        captions = first_captions(info)
        own = RELEASE_INFO.get(info_name)
        for k, entry in enumerate(info["videos"]):
            problem = entry_reason(entry, len(classes))
            if problem is not None:
                quarantine(result, f"{prefix}{folder}{info_name}:videos[{k}]", problem)
                continue
            _add(result, listing, prefix, entry, [own] if own in folders else [], folders, classes, seen, check,
                 captions.get(entry["video_id"]))
    return result


def _add(result: ReadResult, listing: Listing, prefix: str, entry: dict, own: list[str], folders: list[str],
         classes: list, seen: set[str], check, caption: str | None) -> None:
    video_id, name = entry["video_id"], f"{entry['video_id']}.mp4"
    order = own + [f for f in folders if f not in own]
    folder = next((f for f in order if name in listing.files(f"{prefix}{f}")), order[0])
    relative = f"{prefix}{folder}/{name}"
    reason = "listed more than once" if video_id in seen else entry_problem(listing, relative, set(), check)
    if reason is not None:
        quarantine(result, relative, reason)
        return
    seen.add(video_id)
    info = classes[entry["category"]]
    result.rows.append({"sample_id": video_id, "split": SPLITS[entry["split"]], "class_index": info.index,
                        "class_key": info.key, "class_name": info.name, "path": relative, "caption": caption})
