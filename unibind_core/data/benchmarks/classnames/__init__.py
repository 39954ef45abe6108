"""Class lists that ship with the project: one `<list>.tsv` per benchmark, line order = class index.

Each file holds `#` lines naming its source, then `key<TAB>display name` per class. The key is the
dataset's stable identifier (ImageNet wnid, folder name, synset offset, category path); the display
name is what prompts use and may be edited by hand.

A reader hands `canonical` what it found on disk: class keys (folder names, wnids), or (index, key)
pairs when the dataset ships its own list (classInd.txt, categories_places365.txt, the devkit's
meta.mat, CSV targets). The result is always the whole list, so a copy holding only some classes keeps
every class's canonical index; the classes without samples are reported, not refused
(`ReadResult.missing_classes`). Refused, naming the culprits: a key the list does not have, and an
index that contradicts the list (a re-ordered classInd), since either would mislabel samples.

`classnames` (the reader option) is a shipped list's name, the path of a list file in the same format
(`key<TAB>name`, or bare keys; line order = index), or None for custom data: then the classes found on
disk are the class table, in the reader's own order.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path

from unibind_core.data.benchmarks.manifest import ClassInfo, DatasetLayoutError

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


def read_list_file(path: Path) -> tuple[ClassInfo, ...]:
    """A user's class-list file: `key<TAB>name` or bare `key` lines (`#` comments), line order = index."""
    if not path.is_file():
        raise DatasetLayoutError(f"class list file {path} does not exist (reader option classnames)")
    rows = [line.rstrip("\r").split("\t") for line in path.read_text(encoding="utf-8-sig").splitlines()
            if line.strip() and not line.startswith("#")]
    classes = tuple(ClassInfo(i, r[0].strip(), (r[1] if len(r) > 1 else r[0]).strip()) for i, r in enumerate(rows))
    keys = [c.key for c in classes]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice or not classes:
        raise DatasetLayoutError(f"class list file {path} " + (f"lists {twice[0]!r} twice" if twice else "is empty"))
    return classes


def class_list(classnames: str | Path) -> tuple[ClassInfo, ...]:
    """The list `classnames` names: a shipped list, else a list file at that path."""
    if str(classnames) in known_lists():
        return shipped_classes(str(classnames))
    path = Path(classnames).expanduser()
    if isinstance(classnames, Path) or path.suffix or len(path.parts) > 1:
        return read_list_file(path)
    raise DatasetLayoutError(f"classnames {classnames!r} is neither a shipped class list ({', '.join(known_lists())}) "
                             f"nor a class list file")


def _differences(found: Sequence[ClassInfo], listed: Sequence[ClassInfo], indexed: bool) -> list[str]:
    where = {c.key: c.index for c in listed}
    out = [f"not in the list: {c.key!r}" for c in found if c.key not in where]
    if indexed:
        out += [f"{c.key!r} is class {c.index} on disk, {where[c.key]} in the list" for c in found
                if c.key in where and c.index != where[c.key]]
    return out


def canonical(found: Sequence[ClassInfo], classnames: str | Path | Sequence[ClassInfo] | None, source: str,
              indexed: bool) -> list[ClassInfo]:
    """The class table for the classes a reader `found` in `source`. With a list (`classnames`) every found
    key must be in it and, when the dataset states indices (`indexed`: classInd.txt, CSV targets), every
    index must agree with it; the whole list is returned, so a subset keeps canonical indices. With None,
    `found` is the class table as it is (custom data). `classnames` may also be a class table already
    resolved (a reader checking a second source against it)."""
    if classnames is None:
        return sorted(found, key=lambda c: c.index)
    listed = class_list(classnames) if isinstance(classnames, (str, Path)) else tuple(classnames)
    differences = _differences(found, listed, indexed)
    if differences:
        shown = "; ".join(differences[:SHOWN_DIFFERENCES])
        more = f"; and {len(differences) - SHOWN_DIFFERENCES} more" if len(differences) > SHOWN_DIFFERENCES else ""
        label = repr(str(classnames)) if isinstance(classnames, (str, Path)) else "reader's"
        shipped = "shipped " if isinstance(classnames, str) and classnames in known_lists() else ""
        raise DatasetLayoutError(
            f"{source} does not match the {shipped}{label} class list ({len(differences)} "
            f"difference(s)): {shown}{more}. A different release or a re-ordered copy would mislabel samples; "
            f"for custom data set the reader option classnames=None, or classnames=<a list file> "
            f"(CLI: --option classnames=...)")
    return list(listed)


def apply_names(rows: list[dict], classes: Sequence[ClassInfo]) -> None:
    """Set every row's class_name from `classes` by its class_index."""
    names = {c.index: c.name for c in classes}
    for row in rows:
        row["class_name"] = names[row["class_index"]]
