"""ModelNet40 / ModelNet10, pre-sampled text variant (`modelnet40_normal_resampled`).

Layout: `<prefix>_shape_names.txt` (one class per line, line order = class index),
`<prefix>_train.txt` / `<prefix>_test.txt` (one id such as `night_stand_0001` per line) and
`<class>/<id>.txt` point files. The official archive holds both the `modelnet10_*` and `modelnet40_*`
lists, so with several candidates the one named like the root folder wins, or `variant` picks it.
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
    require_file,
)
from unibind_core.tables import Split

_ID_SUFFIX = re.compile(r"_\d+$")


def find_prefix(root: Path, variant: str | None = None) -> str:
    """The list prefix (`modelnet40`, `modelnet10`) of the dataset under `root`."""
    if variant is not None:
        require_file(root / f"{variant}_shape_names.txt", f"the {variant} class list")
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


def read(root: Path, eval_fraction: float = 0.1, variant: str | None = None,
         classnames: str | None = None) -> ReadResult:
    """Read the pre-sampled ModelNet under `root`; `classnames` names a shipped list the class list must equal."""
    root = require_dir(Path(root), "the ModelNet pre-sampled dataset folder")
    prefix = find_prefix(root, variant)
    names_file = root / f"{prefix}_shape_names.txt"
    names = read_lines(names_file, "the class list")
    if len(set(names)) != len(names):
        raise DatasetLayoutError(f"{names_file} lists a class twice")
    index = {name: i for i, name in enumerate(names)}
    result = ReadResult(classes=[ClassInfo(i, n, n.replace("_", " ")) for i, n in enumerate(names)])
    if classnames is not None:
        result.classes = match_exactly(result.classes, classnames, str(names_file))
    for official in ("train", "test"):
        for sample_id in read_lines(root / f"{prefix}_{official}.txt", f"the {official} list"):
            _add(result, root, sample_id, official, index, eval_fraction)
    apply_names(result.rows, result.classes)
    return result


def _add(result: ReadResult, root: Path, sample_id: str, official: str, index: dict[str, int],
         eval_fraction: float) -> None:
    key = class_of(sample_id)
    rel = f"{key}/{sample_id}.txt"
    if key not in index:
        result.quarantine.append({"path": rel, "reason": f"class {key!r} is not in the class list"})
        return
    file = root / rel
    if not file.is_file() or file.stat().st_size == 0:
        reason = "listed but missing on disk" if not file.is_file() else "empty file"
        result.quarantine.append({"path": rel, "reason": reason})
        return
    split = Split.TEST if official == "test" else hashed_split(sample_id, eval_fraction)
    result.rows.append({"sample_id": sample_id, "split": split, "class_index": index[key], "class_key": key,
                        "class_name": key.replace("_", " "), "path": rel})
