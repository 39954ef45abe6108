"""Your own data listed in a manifest: a CSV or JSON-lines file with a `path` (relative to the root) and a
`label` per sample, optionally `split` (train, eval or val, test; else a stable hash of the path), `caption`
(a caption shipped with the data) and `paired_path` (the partner file in a paired benchmark's root).
Class indices are the sorted labels' positions; a row whose file is missing or empty is quarantined.
"""
from __future__ import annotations

import json
from pathlib import Path

from unibind_core.data.benchmarks.manifest import ClassInfo, DatasetLayoutError, ReadResult, hashed_split, require_file
from unibind_core.data.benchmarks.readers.common import Listing, csv_rows, entry_problem, quarantine
from unibind_core.data.benchmarks.readers.folder import SPLIT_FOLDERS

LAYOUT = "<root>/manifest.csv or manifest.jsonl (path, label[, split, caption, paired_path]) + the files"


def _rows(path: Path) -> list[tuple[int, dict]]:
    if path.suffix.lower() == ".jsonl":
        out = []
        for n, line in enumerate(require_file(path, "the manifest").read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    out.append((n, json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise DatasetLayoutError(f"{path} line {n} is not JSON ({exc.msg})") from exc
        for n, row in out:
            if not isinstance(row, dict) or "path" not in row or "label" not in row:
                raise DatasetLayoutError(f"{path} line {n} needs the keys path and label")
        return out
    return list(csv_rows(path, ("path", "label")))


def read(root: Path, file: str | None = None, eval_fraction: float = 0.1, test_fraction: float = 0.3) -> ReadResult:
    """Read the manifest `file` (default: manifest.csv, else manifest.jsonl, under `root`)."""
    root = Path(root)
    candidates = [file] if file else ["manifest.csv", "manifest.jsonl"]
    found = next((root / c for c in candidates if (root / c).is_file()), None)
    if found is None:
        raise DatasetLayoutError(f"no manifest in {root}: expected {' or '.join(candidates)} ({LAYOUT})")
    rows = _rows(found)
    labels = sorted({str(r["label"]) for _, r in rows if str(r.get("label") or "").strip()})
    if not labels:
        raise DatasetLayoutError(f"{found} lists no labelled sample")
    classes = [ClassInfo(i, k, k.replace("_", " ")) for i, k in enumerate(labels)]
    index = {c.key: c for c in classes}
    result, listing, seen = ReadResult(classes=classes), Listing(root), set()
    for n, r in rows:
        path, label = str(r["path"]).strip(), str(r.get("label") or "").strip()
        split = str(r.get("split") or "").strip().lower()
        if not label:
            quarantine(result, path, f"line {n}: no label")
            continue
        if split and split not in SPLIT_FOLDERS:
            quarantine(result, path, f"line {n}: unknown split {split!r} (train, eval, val, test)")
            continue
        problem = entry_problem(listing, path, seen)
        if problem is not None:
            quarantine(result, path, f"line {n}: {problem}")
            continue
        info = index[label]
        sample_id = str(Path(path).with_suffix(""))
        result.rows.append({"sample_id": sample_id, "class_index": info.index, "class_key": info.key,
                            "class_name": info.name, "path": path, "caption": r.get("caption") or None,
                            "paired_path": r.get("paired_path") or None,
                            "split": str(SPLIT_FOLDERS[split] if split else hashed_split(sample_id, eval_fraction,
                                                                                          test_fraction))})
    return result
