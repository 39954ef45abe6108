"""ImageNet-1K (ILSVRC-2012) as distributed: `train/<wnid>/<wnid>_<n>.JPEG`, and `val/` either flat
(`ILSVRC2012_val_00000001.JPEG` ...) and labelled by the devkit, or already sorted into `val/<wnid>/`.

Flat val labels come from `ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt` (line n:
the 1-based ILSVRC2012_ID of image n), mapped to wnids through the devkit's `data/meta.mat`. Those IDs
are NOT the class index: the index is the wnid's position in sorted wnid order (torchvision's
ImageFolder and open_clip's IMAGENET_CLASSNAMES order), taken from the shipped `imagenet1k` list.
Classes are keyed by wnid, never by display name ("sunglasses" names two classes). A copy holding
some wnid folders keeps their indices; a folder that is no class of the list is refused, naming it.
`root` may be the folder holding train/ and val/ or the one above it. Every image header is checked.

Splits: official val is `test`; `eval` is a stable-hash slice of train (docs/method.md §5).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from scipy.io import loadmat
from scipy.io.matlab import MatReadError

from unibind_core.benchmarks.classnames import canonical
from unibind_core.benchmarks.manifest import ClassInfo, DatasetLayoutError, ReadResult, hashed_split, require_file
from unibind_core.benchmarks.readers.checks import IMAGE_SUFFIXES, suffix_check
from unibind_core.benchmarks.readers.common import FileCheck, Listing, find_root, quarantine
from unibind_core.tables import Split

LAYOUT = "train/<wnid>/*.JPEG + val/<wnid>/*.JPEG, or flat val/ + ILSVRC2012_devkit_t12/"
DEVKIT = "ILSVRC2012_devkit_t12"
GROUND_TRUTH = "data/ILSVRC2012_validation_ground_truth.txt"
META = "data/meta.mat"


def check_layout(root: Path, prefix: str) -> None:
    missing = [f"{sub}/ at {root / prefix / sub}" for sub in ("train", "val") if not (root / prefix / sub).is_dir()]
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


def class_list(root: Path, prefix: str, devkit: str, listing: Listing, classnames: str | None) -> list[ClassInfo]:
    """The class table: the list `classnames`, which the devkit's leaf wnids (when the devkit is there) and
    the train/ and val/ wnid folders must all be in; with None the devkit's (else the folders') sorted wnids."""
    meta = root / prefix / devkit / META
    folders = sorted(set(listing.dirs(f"{prefix}train")) | set(listing.dirs(f"{prefix}val")))
    folder_classes = [ClassInfo(i, w, w) for i, w in enumerate(folders)]
    source = f"the wnid folders of {root / prefix}train/ and val/"
    if not meta.is_file():
        return canonical(folder_classes, classnames, source, indexed=False)
    found = [ClassInfo(i, w, w) for i, w in enumerate(sorted(read_meta(meta).values()))]
    classes = canonical(found, classnames, f"the leaf wnids of {meta}", indexed=False)
    canonical(folder_classes, classes, source, indexed=False)
    return classes


def scan_wnid_folders(result: ReadResult, listing: Listing, top: str, index: dict[str, ClassInfo],
                      check: FileCheck, split_of: Callable[[str], str]) -> None:
    """Rows for the images of every `top/<wnid>/`; stray and bad files quarantined."""
    for name in sorted(listing.files(top)):
        quarantine(result, f"{top}/{name}", "stray file outside a class folder")
    for wnid in listing.dirs(top):
        info = index[wnid]
        for name, size in sorted(listing.files(f"{top}/{wnid}").items()):
            path = f"{top}/{wnid}/{name}"
            reason = "empty file (0 bytes)" if size == 0 else check(listing.root / path, size)
            if reason is not None:
                quarantine(result, path, reason)
                continue
            sample_id = name.rsplit(".", 1)[0]
            result.rows.append({"sample_id": sample_id, "split": split_of(sample_id), "class_index": info.index,
                                "class_key": info.key, "class_name": info.name, "path": path})


def read_ground_truth(path: Path, where: str, result: ReadResult) -> list[tuple[int, int]]:
    """-> [(image number, ILSVRC2012_ID)], bad lines quarantined."""
    labels = []
    for n, line in enumerate(require_file(path, "the devkit's validation ground truth").read_text().splitlines(), 1):
        if line.strip().isdigit():
            labels.append((n, int(line)))
        else:
            quarantine(result, f"{where}:{n}", f"not an ILSVRC2012_ID: {line!r}")
    return labels


def read_flat_val(result: ReadResult, root: Path, prefix: str, devkit: str, listing: Listing,
                  index: dict[str, ClassInfo], check: FileCheck) -> None:
    """Rows for the flat val/ folder, labelled by the devkit ground truth through meta.mat. A listed image
    that is absent is quarantined only when its class has train images here (else the copy lacks the class)."""
    meta = root / prefix / devkit / META
    id_to_wnid = read_meta(require_file(meta, "the devkit's meta.mat (flat val/ needs it for labels)"))
    files = {name.rsplit(".", 1)[0]: (name, size) for name, size in listing.files(f"{prefix}val").items()}
    held = set(listing.dirs(f"{prefix}train"))
    labelled = set()
    truth = f"{prefix}{devkit}/{GROUND_TRUTH}"
    for n, ilsvrc_id in read_ground_truth(root / truth, truth, result):
        stem = f"ILSVRC2012_val_{n:08d}"
        labelled.add(stem)
        wnid, entry = id_to_wnid.get(ilsvrc_id), files.get(stem)
        path = f"{prefix}val/{entry[0] if entry else stem}"
        if wnid not in index:
            quarantine(result, path, f"ground-truth ILSVRC2012_ID {ilsvrc_id} is not a leaf synset of meta.mat")
            continue
        if entry is None:
            if wnid in held:
                quarantine(result, path, "listed in the ground truth but missing")
            continue
        reason = "empty file (0 bytes)" if entry[1] == 0 else check(root / path, entry[1])
        if reason is not None:
            quarantine(result, path, reason)
            continue
        info = index[wnid]
        result.rows.append({"sample_id": stem, "split": Split.TEST, "class_index": info.index, "class_key": info.key,
                            "class_name": info.name, "path": path})
    for stem in sorted(set(files) - labelled):
        quarantine(result, f"{prefix}val/{files[stem][0]}", "no line in the devkit ground truth")


def read(root: Path, eval_fraction: float = 0.01, devkit: str = DEVKIT, classnames: str | None = "imagenet1k",
         verify_files: bool = True) -> ReadResult:
    """Read ImageNet-1K under `root` (train + official val); see the module docstring for the layouts."""
    root = Path(root)
    prefix = find_root(root, lambda p: (p / "train").is_dir(), "the ImageNet train/ and val/ folders",
                       fallback=True)
    check_layout(root, prefix)
    listing = Listing(root)
    result = ReadResult(classes=class_list(root, prefix, devkit, listing, classnames))
    index = {c.key: c for c in result.classes}
    check = suffix_check(IMAGE_SUFFIXES, "an image file", verify_files)
    scan_wnid_folders(result, listing, f"{prefix}train", index, check, lambda sid: hashed_split(sid, eval_fraction))
    if listing.dirs(f"{prefix}val"):
        scan_wnid_folders(result, listing, f"{prefix}val", index, check, lambda sid: Split.TEST)
    elif not (root / prefix / devkit / GROUND_TRUTH).is_file():
        raise DatasetLayoutError(
            f"val/ at {root / prefix / 'val'} is flat, so its labels must come from the devkit: expected "
            f"{root / prefix / devkit / GROUND_TRUTH} and {root / prefix / devkit / META} "
            f"(or sort val/ into <wnid>/ folders)")
    else:
        read_flat_val(result, root, prefix, devkit, listing, index, check)
    return result
