"""What every reader shares, so each reader module keeps only its own format.

- `Listing`: each folder of a dataset is listed once (one `scandir`, sizes included) instead of a stat
  per list line: list-driven readers look up 10^5..10^6 entries.
- `entry_problem`: the checks every listed sample goes through, in one order and one wording: listed
  twice, listed but missing, empty, then the format's own cheap check (readers/checks.py).
- `find_root`: users point at the archive's top folder or at the one inside it; both work.
- list-file parsing: `read_lines`, `numbered_lines`, `label_lines`, `csv_rows`.
"""
from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from unibind_core.data.benchmarks.manifest import DatasetLayoutError, ReadResult, require_file, resolve_inside

# (absolute path, size in bytes) -> None if the file can be a sample, else the reason it is quarantined
FileCheck = Callable[[Path, int], str | None]

LISTED_TWICE = "listed more than once"
MISSING = "listed but missing on disk"
EMPTY = "empty file (0 bytes)"


def visible(name: str) -> bool:
    """Hidden entries (`.DS_Store`, `._x.jpg` resource forks, `.cache/`) are never samples nor classes."""
    return not name.startswith(".")


class Listing:
    """{file name: size} and sub-folder names per folder under `root`, each folder listed once on first use."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._files: dict[str, dict[str, int]] = {}
        self._dirs: dict[str, list[str]] = {}

    def _scan(self, folder: str) -> None:
        path = resolve_inside(self.root, folder) if folder else self.root
        files, dirs = {}, []
        if path.is_dir():
            for entry in os.scandir(path):
                if not visible(entry.name):
                    continue
                if entry.is_dir():
                    dirs.append(entry.name)
                elif entry.is_file():
                    files[entry.name] = entry.stat().st_size
        self._files[folder], self._dirs[folder] = files, sorted(dirs)

    def files(self, folder: str) -> dict[str, int]:
        """Visible regular files of `folder` (relative to the root, '' for the root); {} if it is absent."""
        folder = folder.strip("/")
        if folder not in self._files:
            self._scan(folder)
        return self._files[folder]

    def dirs(self, folder: str) -> list[str]:
        """Sorted visible sub-folders of `folder`; [] if it is absent."""
        folder = folder.strip("/")
        if folder not in self._dirs:
            self._scan(folder)
        return self._dirs[folder]

    def has_dir(self, folder: str) -> bool:
        parent, _, name = folder.strip("/").rpartition("/")
        return name in self.dirs(parent)

    def size(self, relative: str) -> int | None:
        """Size of the file at `relative`, None if it is not there (a path escaping the root raises ValueError)."""
        folder, _, name = relative.rpartition("/")
        return self.files(folder).get(name)


def entry_problem(listing: Listing, relative: str, seen: set[str], check: FileCheck | None = None) -> str | None:
    """Why the listed file `relative` cannot be a sample, or None (then it is added to `seen`)."""
    if relative in seen:
        return LISTED_TWICE
    try:
        size = listing.size(relative)
    except ValueError as exc:  # escapes the dataset root
        return str(exc)
    if size is None:
        return MISSING
    if size == 0:
        return EMPTY
    if check is not None:
        problem = check(listing.root / relative, size)
        if problem is not None:
            return problem
    seen.add(relative)
    return None


def quarantine(result: ReadResult, path: str, reason: str) -> None:
    result.quarantine.append({"path": path, "reason": reason})


def find_root(root: Path, looks_like: Callable[[Path], bool], what: str, expected: str = "",
              fallback: bool = False) -> str:
    """'' when `root` is laid out as `looks_like` expects, else 'child/' for the one visible folder inside
    it that is (the archive's top folder, e.g. `ESC-50-master/`); else a DatasetLayoutError naming `what`
    and where it was expected (`root / expected`), or with `fallback` '' (the reader's own layout check
    then names every missing piece)."""
    root = Path(root)
    where = root / expected if expected else root
    if not root.is_dir():
        raise DatasetLayoutError(f"expected {what} at {where}, found nothing at {root}")
    if looks_like(root):
        return ""
    inside = sorted(e.name for e in os.scandir(root) if e.is_dir() and visible(e.name) and looks_like(Path(e.path)))
    if len(inside) == 1:
        return inside[0] + "/"
    if inside:
        raise DatasetLayoutError(f"{root} holds several copies ({', '.join(inside)}); point at one of them")
    if fallback:
        return ""
    found = "a file" if expected and where.is_file() else "nothing"
    raise DatasetLayoutError(f"expected {what} at {where} (or one folder further down), found {found}")


def read_lines(path: Path, what: str) -> list[str]:
    """The non-blank, stripped lines of a list file a benchmark ships (class lists, split lists)."""
    return [line for _, line in numbered_lines(path, what)]


def numbered_lines(path: Path, what: str) -> list[tuple[int, str]]:
    """(line number, stripped line) of the non-blank lines of a list file."""
    text = require_file(path, what).read_text(encoding="utf-8-sig")
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def label_lines(path: Path, what: str) -> list[tuple[int, str, str]]:
    """(line number, item, label) of a `<item> <label>` list (the label is the last field; '' if none)."""
    out = []
    for n, line in numbered_lines(path, what):
        item, _, label = line.rpartition(" ")
        out.append((n, item, label) if item else (n, label, ""))
    return out


def csv_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict]]:
    """(line number, row) of a metadata CSV, after checking it has the columns a reader needs."""
    with open(require_file(path, "a metadata table"), newline="", encoding="utf-8-sig") as f:
        table = csv.DictReader(f)
        missing = [c for c in required if c not in (table.fieldnames or [])]
        if missing:
            raise DatasetLayoutError(f"{path} lacks the column(s) {', '.join(missing)}; found {table.fieldnames}")
        for row in table:
            yield table.line_num, row
