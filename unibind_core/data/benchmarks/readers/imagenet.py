"""ImageNet-1K (ILSVRC-2012) as distributed: `train/<wnid>/<wnid>_<n>.JPEG`, and `val/` either flat
(`ILSVRC2012_val_00000001.JPEG` ...) and labelled by the devkit, or already sorted into `val/<wnid>/`.

Flat val labels come from `ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt` (line n:
the 1-based ILSVRC2012_ID of image n), mapped to wnids through the devkit's `data/meta.mat`. Those IDs
are NOT the class index: the index is the wnid's position in sorted wnid order (torchvision's
ImageFolder and open_clip's IMAGENET_CLASSNAMES order), taken from the shipped `imagenet1k` list.
Classes are keyed by wnid, never by display name ("sunglasses" names two classes). A copy holding
some wnid folders keeps their indices; a folder that is no class of the list is refused, naming it.
`root` may be the folder holding train/ and val/ or the one above it. Every image header is checked.

Kaggle's ImageNet Object Localization Challenge archive is read as it unpacks: `ILSVRC/Data/CLS-LOC/
train/<wnid>/` and a flat `ILSVRC/Data/CLS-LOC/val/`, labelled by `LOC_val_solution.csv` (the first
token of PredictionString is the wnid), with `LOC_synset_mapping.txt` as the class list on disk (line
order = the sorted-wnid index, checked against the shipped list). `root` is the folder holding `ILSVRC/`
and the LOC files, or the one above it.

Splits: official val is `test`; `eval` is a stable-hash slice of train (docs/method.md §5).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from scipy.io import loadmat
from scipy.io.matlab import MatReadError

from unibind_core.data.benchmarks.classnames import canonical
from unibind_core.data.benchmarks.manifest import ClassInfo, DatasetLayoutError, ReadResult, hashed_split, require_file
from unibind_core.data.benchmarks.readers.file_checks import IMAGE_SUFFIXES, suffix_check
from unibind_core.data.benchmarks.readers.common import FileCheck, Listing, csv_rows, find_root, quarantine, read_lines
from unibind_core.storage.tables import Split

LAYOUT = ("train/<wnid>/*.JPEG + val/<wnid>/*.JPEG, or flat val/ + ILSVRC2012_devkit_t12/, or Kaggle's "
          "ILSVRC/Data/CLS-LOC/{train/<wnid>,val}/ + LOC_val_solution.csv + LOC_synset_mapping.txt")
DEVKIT = "ILSVRC2012_devkit_t12"
KAGGLE_IMAGES = "ILSVRC/Data/CLS-LOC/"  # the Kaggle ImageNet Object Localization Challenge archive
KAGGLE_VAL = "LOC_val_solution.csv"
KAGGLE_SYNSETS = "LOC_synset_mapping.txt"
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


def label_flat_val(result: ReadResult, listing: Listing, top: str, labels: list[tuple[str, str | None, str | None]],
                   index: dict[str, ClassInfo], check: FileCheck, unlabelled: str, train_top: str) -> None:
    """Rows for the flat val folder `top` from `labels` [(image stem, wnid, why the wnid is unusable or None)].
    A listed image that is absent is quarantined only when its class has train images here (else the copy
    lacks the class); an image without a label is quarantined with `unlabelled`."""
    files = {name.rsplit(".", 1)[0]: (name, size) for name, size in listing.files(top).items()}
    held = set(listing.dirs(train_top))
    labelled = set()
    for stem, wnid, problem in labels:
        labelled.add(stem)
        entry = files.get(stem)
        path = f"{top}/{entry[0] if entry else stem}"
        if problem is not None or wnid not in index:
            quarantine(result, path, problem or f"label {wnid!r} is not a class of the list")
            continue
        if entry is None:
            if wnid in held:
                quarantine(result, path, "listed in the ground truth but missing")
            continue
        reason = "empty file (0 bytes)" if entry[1] == 0 else check(listing.root / path, entry[1])
        if reason is not None:
            quarantine(result, path, reason)
            continue
        info = index[wnid]
        result.rows.append({"sample_id": stem, "split": Split.TEST, "class_index": info.index, "class_key": info.key,
                            "class_name": info.name, "path": path})
    for stem in sorted(set(files) - labelled):
        quarantine(result, f"{top}/{files[stem][0]}", unlabelled)


def read_flat_val(result: ReadResult, root: Path, prefix: str, devkit: str, listing: Listing,
                  index: dict[str, ClassInfo], check: FileCheck) -> None:
    """The flat val/ folder, labelled by the devkit ground truth (line n: image n) through meta.mat."""
    meta = root / prefix / devkit / META
    id_to_wnid = read_meta(require_file(meta, "the devkit's meta.mat (flat val/ needs it for labels)"))
    truth = f"{prefix}{devkit}/{GROUND_TRUTH}"
    labels = [(f"ILSVRC2012_val_{n:08d}", id_to_wnid.get(i),
               None if i in id_to_wnid else f"ground-truth ILSVRC2012_ID {i} is not a leaf synset of meta.mat")
              for n, i in read_ground_truth(root / truth, truth, result)]
    label_flat_val(result, listing, f"{prefix}val", labels, index, check, "no line in the devkit ground truth",
                   f"{prefix}train")


def kaggle_classes(root: Path, prefix: str, listing: Listing, classnames: str | None) -> list[ClassInfo]:
    """LOC_synset_mapping.txt (`n01440764 tench, Tinca tinca`; line order = class index, sorted wnids),
    checked against the list `classnames`; the train wnid folders must all be in the result."""
    mapping = root / prefix / KAGGLE_SYNSETS
    found = []
    for i, line in enumerate(read_lines(mapping, "the Kaggle synset mapping")):
        wnid, _, words = line.partition(" ")
        found.append(ClassInfo(i, wnid, words.split(",")[0].strip() or wnid))
    if len({c.key for c in found}) != len(found):
        raise DatasetLayoutError(f"{mapping} lists a wnid twice")
    classes = canonical(found, classnames, str(mapping), indexed=True)
    folders = [ClassInfo(i, w, w) for i, w in enumerate(listing.dirs(f"{prefix}{KAGGLE_IMAGES}train"))]
    canonical(folders, classes, f"the wnid folders of {root / prefix / KAGGLE_IMAGES}train/", indexed=False)
    return classes


def kaggle_val_labels(root: Path, prefix: str, result: ReadResult) -> list[tuple[str, str | None, str | None]]:
    """LOC_val_solution.csv rows `ILSVRC2012_val_00008726,n02119789 255 142 454 329 ...`: the first token
    of PredictionString is the image's wnid (the boxes that follow are not used)."""
    labels = []
    for n, row in csv_rows(root / prefix / KAGGLE_VAL, ("ImageId", "PredictionString")):
        stem, tokens = (row["ImageId"] or "").strip(), (row["PredictionString"] or "").split()
        if not stem or not tokens:
            quarantine(result, f"{prefix}{KAGGLE_VAL}:{n}", "no ImageId or no wnid in PredictionString")
            continue
        labels.append((stem, tokens[0], None))
    return labels


def _is_kaggle(path: Path) -> bool:
    return (path / KAGGLE_IMAGES / "train").is_dir() or (path / KAGGLE_VAL).is_file()


def read(root: Path, eval_fraction: float = 0.01, devkit: str = DEVKIT, classnames: str | None = "imagenet1k",
         verify_files: bool = True) -> ReadResult:
    """Read ImageNet-1K under `root` (train + official val); see the module docstring for the layouts."""
    root = Path(root)
    prefix = find_root(root, lambda p: (p / "train").is_dir() or _is_kaggle(p), "the ImageNet train/ and val/ folders",
                       fallback=True)
    if _is_kaggle(root / prefix):
        return read_kaggle(root, prefix, eval_fraction, classnames, verify_files)
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


def read_kaggle(root: Path, prefix: str, eval_fraction: float, classnames: str | None, verify: bool) -> ReadResult:
    """Kaggle's archive: `ILSVRC/Data/CLS-LOC/train/<wnid>/` and a flat `val/` labelled by LOC_val_solution.csv."""
    images = f"{prefix}{KAGGLE_IMAGES}"
    check_layout(root, images)
    listing = Listing(root)
    result = ReadResult(classes=kaggle_classes(root, prefix, listing, classnames))
    index = {c.key: c for c in result.classes}
    check = suffix_check(IMAGE_SUFFIXES, "an image file", verify)
    scan_wnid_folders(result, listing, f"{images}train", index, check, lambda sid: hashed_split(sid, eval_fraction))
    label_flat_val(result, listing, f"{images}val", kaggle_val_labels(root, prefix, result), index, check,
                   f"no row in {KAGGLE_VAL}", f"{images}train")
    return result
