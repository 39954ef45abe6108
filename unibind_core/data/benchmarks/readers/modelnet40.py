"""ModelNet40 / ModelNet10 in the layouts they are distributed in; `root` may be the dataset folder or
the folder holding it. The layout is recognised from what is on disk:

- Princeton's original meshes (`ModelNet40.zip`): `ModelNet40/<class>/{train,test}/<class>_NNNN.off`.
  The OFF header is checked while reading (including ModelNet's run-together `OFF490 518 0` line); the
  point loader samples points on the surface, area-weighted, seeded by the path (deterministic).
- PointNet++'s resampled text variant (`modelnet40_normal_resampled`): `<prefix>_shape_names.txt` (line
  order = class index), `<prefix>_train.txt` / `<prefix>_test.txt` (ids such as `night_stand_0001`) and
  `<class>/<id>.txt` point files. That archive holds both the `modelnet10_*` and `modelnet40_*` lists,
  so with several candidates the one named like the root folder wins, or `variant` picks it.

- PointNet's HDF5 variant (`modelnet40_ply_hdf5_2048.zip`): `ply_data_{train,test}<n>.h5`, each with
  `data` (N, 2048, 3) float32 and `label` (N, 1) uint8 indexing `shape_names.txt`, listed by
  `train_files.txt` / `test_files.txt` (paths such as `data/modelnet40_ply_hdf5_2048/ply_data_train0.h5`,
  matched by file name; without them the `ply_data_*` files are taken by their split in the name). A
  row's path is `<file>#<index>` (manifest.member_path); the sample id is the mesh named by
  `ply_data_<split>_<n>_id2file.json` when that file is there, else `<file stem>_<index>`.

Class indices come from the shipped `modelnet40` list (keys looked up; ModelNet10's classes keep their
ModelNet40 indices); a shape_names file that contradicts it is refused.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from unibind_core.data.benchmarks.classnames import apply_names, canonical
from unibind_core.data.benchmarks.manifest import ClassInfo, DatasetLayoutError, ReadResult, hashed_split, member_path
from unibind_core.data.benchmarks.readers.file_checks import suffix_check
from unibind_core.data.benchmarks.readers.common import Listing, entry_problem, find_root, quarantine, read_lines
from unibind_core.storage.tables import Split

LAYOUT = ("ModelNet40/<class>/{train,test}/*.off, or modelnet40_normal_resampled/ "
          "(modelnet40_shape_names.txt, modelnet40_{train,test}.txt, <class>/<id>.txt), or "
          "modelnet40_ply_hdf5_2048/ (shape_names.txt, {train,test}_files.txt, ply_data_*.h5)")
H5_NAMES = "shape_names.txt"
_H5_FILE = re.compile(r"^ply_data_(train|test)(\d+)\.h5$")
_ID_SUFFIX = re.compile(r"_\d+$")
OFFICIAL = ("train", "test")


def _is_resampled(path: Path) -> bool:
    return any(path.glob("*_shape_names.txt"))


def _is_meshes(path: Path) -> bool:
    """Class folders holding train/ or test/ sub-folders (the Princeton archive)."""
    return any((d / s).is_dir() for d in path.iterdir() if d.is_dir() for s in OFFICIAL)


def _is_hdf5(path: Path) -> bool:
    return any(path.glob("ply_data_*.h5"))


def find_prefix(root: Path, variant: str | None = None) -> str:
    """The list prefix (`modelnet40`, `modelnet10`) of the resampled dataset under `root`."""
    if variant is not None:
        if not (root / f"{variant}_shape_names.txt").is_file():
            raise DatasetLayoutError(f"expected the {variant} class list at {root / f'{variant}_shape_names.txt'}")
        return variant
    prefixes = sorted(p.name[: -len("_shape_names.txt")] for p in root.glob("*_shape_names.txt"))
    if len(prefixes) > 1:
        prefixes = [p for p in prefixes if root.name.lower().startswith(p.lower())] or prefixes
    if len(prefixes) != 1:
        found = ", ".join(f"{p}_shape_names.txt" for p in prefixes) or "none"
        raise DatasetLayoutError(
            f"expected exactly one class list <prefix>_shape_names.txt (e.g. modelnet40_shape_names.txt) "
            f"in {root}, found {found}; pass variant= to choose"
        )
    return prefixes[0]


def class_of(sample_id: str) -> str:
    """`night_stand_0001` -> `night_stand` (the class folder is the id minus its trailing number)."""
    return _ID_SUFFIX.sub("", sample_id)


def display_name(key: str) -> str:
    return key.replace("_", " ")


def read(root: Path, eval_fraction: float = 0.1, variant: str | None = None,
         classnames: str | None = None, verify_files: bool = True) -> ReadResult:
    """Read ModelNet under `root` in whichever distributed layout it is; `classnames` names the class list."""
    root = Path(root)
    prefix = find_root(root, lambda p: _is_resampled(p) or _is_meshes(p) or _is_hdf5(p),
                       "a ModelNet dataset (class folders with train/ and test/, <prefix>_shape_names.txt, "
                       "or ply_data_*.h5)")
    here = root / prefix
    if _is_resampled(here):
        result = read_resampled(root, prefix, eval_fraction, variant, classnames)
    elif _is_meshes(here):
        result = read_meshes(root, prefix, eval_fraction, classnames, verify_files)
    else:
        result = read_hdf5(root, prefix, eval_fraction, classnames, verify_files)
    apply_names(result.rows, result.classes)
    return result


def read_meshes(root: Path, prefix: str, eval_fraction: float, classnames: str | None, verify: bool) -> ReadResult:
    """`<class>/{train,test}/*.off`: one row per mesh, the class from its folder."""
    listing = Listing(root)
    folders = listing.dirs(prefix)
    found = [ClassInfo(i, key, display_name(key)) for i, key in enumerate(folders)]
    result = ReadResult(classes=canonical(found, classnames, f"the class folders of {root / prefix}", indexed=False))
    index = {c.key: c for c in result.classes}
    check = suffix_check((".off",), "an OFF mesh", verify)
    for key in folders:
        for official in OFFICIAL:
            folder = f"{prefix}{key}/{official}"
            for name, size in sorted(listing.files(folder).items()):
                path = f"{folder}/{name}"
                reason = "empty file (0 bytes)" if size == 0 else check(root / path, size)
                if reason is not None:
                    quarantine(result, path, reason)
                    continue
                sample_id = name.rsplit(".", 1)[0]
                split = Split.TEST if official == "test" else hashed_split(sample_id, eval_fraction)
                result.rows.append({"sample_id": sample_id, "split": split, "class_index": index[key].index,
                                    "class_key": key, "path": path})
    return result


def _class_table(names_file: Path, classnames: str | None) -> tuple[list[str], ReadResult, dict[str, ClassInfo]]:
    """A shape_names list (line i is class i), checked against `classnames`: (names, an empty result
    holding the class table, key -> class)."""
    names = read_lines(names_file, "the class list")
    if len(set(names)) != len(names):
        raise DatasetLayoutError(f"{names_file} lists a class twice")
    found = [ClassInfo(i, n, display_name(n)) for i, n in enumerate(names)]
    result = ReadResult(classes=canonical(found, classnames, str(names_file), indexed=True))
    return names, result, {c.key: c for c in result.classes}


def read_resampled(root: Path, prefix: str, eval_fraction: float, variant: str | None,
                   classnames: str | None) -> ReadResult:
    """PointNet++'s resampled text files, driven by the class and split lists."""
    here = root / prefix
    list_prefix = find_prefix(here, variant)
    names_file = here / f"{list_prefix}_shape_names.txt"
    names, result, index = _class_table(names_file, classnames)
    listing, seen = Listing(root), set()
    for official in OFFICIAL:
        for sample_id in read_lines(here / f"{list_prefix}_{official}.txt", f"the {official} list"):
            key = class_of(sample_id)
            rel = f"{prefix}{key}/{sample_id}.txt"
            if key not in index or key not in names:
                quarantine(result, rel, f"class {key!r} is not in the class list")
                continue
            if not listing.has_dir(f"{prefix}{key}"):
                continue  # a copy without this class: reported as a missing class, not per file
            reason = entry_problem(listing, rel, seen)
            if reason is not None:
                quarantine(result, rel, reason)
                continue
            split = Split.TEST if official == "test" else hashed_split(sample_id, eval_fraction)
            result.rows.append({"sample_id": sample_id, "split": split, "class_index": index[key].index,
                                "class_key": key, "path": rel})
    return result


def _h5_files(here: Path, official: str) -> list[str]:
    """The `ply_data_<official>*.h5` file names of one split: from `<official>_files.txt` (matched by file
    name: its paths are relative to the PointNet repository) when shipped, else by the names on disk."""
    listed = here / f"{official}_files.txt"
    if listed.is_file():
        return [Path(line.replace("\\", "/")).name for line in read_lines(listed, f"the {official} file list")]
    return sorted(p.name for p in here.glob(f"ply_data_{official}*.h5"))


def _h5_ids(here: Path, name: str, count: int) -> list[str]:
    """Sample ids of the clouds of `name`: the meshes its id2file JSON names (`airplane/airplane_0627.ply`
    -> `airplane_0627`), else `<file stem>_<index>` when that file is absent or does not fit."""
    stem = name[: -len(".h5")]
    match = _H5_FILE.match(name)
    sidecar = here / (f"ply_data_{match[1]}_{match[2]}_id2file.json" if match else f"{stem}_id2file.json")
    try:
        names = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        names = None
    if isinstance(names, list) and len(names) == count and all(isinstance(n, str) for n in names):
        ids = [Path(n.replace("\\", "/")).stem for n in names]
        if len(set(ids)) == count:
            return ids
    return [f"{stem}_{i}" for i in range(count)]


def read_hdf5(root: Path, prefix: str, eval_fraction: float, classnames: str | None, verify: bool) -> ReadResult:
    """PointNet's `ply_data_*.h5`: one row per cloud, addressed `<file>#<index>`, the class from `label`."""
    import h5py
    import numpy as np

    here = root / prefix
    names, result, index = _class_table(here / H5_NAMES, classnames)
    check = suffix_check((".h5",), "an HDF5 point cloud file", verify)
    listing, seen, ids = Listing(root), set(), set()
    for official in OFFICIAL:
        for name in _h5_files(here, official):
            rel = f"{prefix}{name}"
            reason = entry_problem(listing, rel, seen, check)
            if reason is not None:
                quarantine(result, rel, reason)
                continue
            try:
                with h5py.File(root / rel, "r") as f:
                    labels = np.asarray(f["label"]).reshape(-1)
            except (OSError, KeyError, ValueError) as exc:
                quarantine(result, rel, f"not a readable HDF5 point cloud file ({exc})")
                continue
            for i, (sample_id, label) in enumerate(zip(_h5_ids(here, name, len(labels)), labels.tolist())):
                path = member_path(rel, i)
                if sample_id in ids:  # an id2file name repeated across files: the address keeps it unique
                    sample_id = f"{name[: -len('.h5')]}_{i}"
                ids.add(sample_id)
                if not 0 <= label < len(names):
                    quarantine(result, path, f"label {label} is outside the {len(names)} classes of {H5_NAMES}")
                    continue
                key = names[label]
                split = Split.TEST if official == "test" else hashed_split(sample_id, eval_fraction)
                result.rows.append({"sample_id": sample_id, "split": split, "class_index": index[key].index,
                                    "class_key": key, "path": path})
    return result
