"""Class lists that ship with the project: one `<list>.tsv` per benchmark, line order = class index.

Each file holds `#` lines naming its source, then `key<TAB>display name` per class. The key is the
dataset's stable identifier (ImageNet wnid, folder name, synset offset, category path); the display
name is what prompts use and may be edited by hand. Readers use a list in one of two ways:

- `match_exactly`: the dataset ships its own list (classInd.txt, categories_places365.txt, the devkit's
  meta.mat ...); the list on disk is read and must equal the shipped one, index for index.
- `match_subset`: classes only show up through samples (CSV rows, folder names, integer categories);
  every (index, key) seen on disk must agree with the shipped list, which then is the class table.

A mismatch is a DatasetLayoutError listing the first differences, so a wrong or re-ordered copy of a
benchmark is caught before any embedding is computed against the wrong labels.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

from unibind_core.benchmarks.manifest import ClassInfo, DatasetLayoutError

SHOWN_DIFFERENCES = 5


def known_lists() -> list[str]:
    return sorted(p.name[:-4] for p in resources.files(__package__).iterdir() if p.name.endswith(".tsv"))


@lru_cache(maxsize=None)
def shipped_classes(name: str) -> tuple[ClassInfo, ...]:
    """The shipped list `name` as ClassInfo(index, key, name), index = line order."""
    path = resources.files(__package__) / f"{name}.tsv"
    if not path.is_file():
        raise KeyError(f"no shipped class list {name!r}; known: {', '.join(known_lists())}")
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")]
    if any(len(r) != 2 or not r[0] or not r[1] for r in rows):
        raise ValueError(f"shipped class list {path} has a line that is not 'key<TAB>name'")
    return tuple(ClassInfo(i, key, display) for i, (key, display) in enumerate(rows))


def _differences(on_disk: dict[int, str], shipped: dict[int, str], exact: bool) -> list[str]:
    """Keys only on one side; only when there are none, keys at different indices (a re-ordered list):
    a missing or extra class shifts every index after it, which would bury the one real difference."""
    extra = sorted(set(on_disk.values()) - set(shipped.values()))
    missing = sorted(set(shipped.values()) - set(on_disk.values())) if exact else []
    if extra or missing:
        return [f"not in the shipped list: {k!r}" for k in extra] + [f"missing on disk: {k!r}" for k in missing]
    where = {key: i for i, key in shipped.items()}
    return [f"{key!r} is class {i} on disk, {where[key]} shipped" for i, key in sorted(on_disk.items())
            if where[key] != i]


def _check(found: Sequence[ClassInfo], name: str, source: str, exact: bool) -> list[ClassInfo]:
    shipped = shipped_classes(name)
    differences = _differences({c.index: c.key for c in found}, {c.index: c.key for c in shipped}, exact)
    if differences:
        shown = "; ".join(differences[:SHOWN_DIFFERENCES])
        more = f"; and {len(differences) - SHOWN_DIFFERENCES} more" if len(differences) > SHOWN_DIFFERENCES else ""
        raise DatasetLayoutError(
            f"{source} does not match the shipped {name!r} class list ({len(differences)} difference(s)): "
            f"{shown}{more}. A different release or a re-ordered copy would mislabel samples; if this copy is "
            f"intended, set the reader option classnames=None to use it unchecked")
    return list(shipped)


def match_exactly(found: Sequence[ClassInfo], name: str, source: str) -> list[ClassInfo]:
    """The on-disk list `found` must equal the shipped list `name`; returns it with the shipped display names."""
    return _check(found, name, source, exact=True)


def match_subset(found: Sequence[ClassInfo], name: str, source: str) -> list[ClassInfo]:
    """Every (index, key) in `found` must agree with the shipped list `name`; returns the whole shipped list."""
    return _check(found, name, source, exact=False)


def apply_names(rows: list[dict], classes: Sequence[ClassInfo]) -> None:
    """Set every row's class_name from `classes` by its class_index."""
    names = {c.index: c.name for c in classes}
    for row in rows:
        row["class_name"] = names[row["class_index"]]
