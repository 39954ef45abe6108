"""Read a benchmark from disk into its manifest, attaching captions shipped with the data."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from unibind_core.benchmarks.manifest import DatasetLayoutError, ReadResult
from unibind_core.benchmarks.readers import READERS
from unibind_core.benchmarks.spec import BenchmarkSpec
from unibind_core.demo.world import CAPTIONS_FILE


@dataclass(frozen=True)
class Manifest:
    table: pa.Table  # MANIFEST_SCHEMA
    classes: pa.Table  # CLASSES_SCHEMA
    quarantine: pa.Table  # QUARANTINE_SCHEMA

    def split_counts(self) -> dict[str, int]:
        counts = pc.value_counts(self.table["split"]).to_pylist()
        return {c["values"]: c["counts"] for c in counts}


def dataset_root(spec: BenchmarkSpec, datasets_dir: Path) -> Path:
    root = Path(datasets_dir) / spec.root
    if not root.is_dir():
        raise DatasetLayoutError(f"dataset root of {spec.name} does not exist: {root}")
    return root


def read_captions(root: Path) -> dict[str, str]:
    """Captions shipped with a dataset (the demo world's), keyed by relative path."""
    path = root / CAPTIONS_FILE
    if not path.is_file():
        return {}
    captions = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            captions[entry["path"]] = entry["caption"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{n} is not a caption record ({exc})") from exc
    return captions


def build_manifest(spec: BenchmarkSpec, datasets_dir: Path) -> Manifest:
    root = dataset_root(spec, datasets_dir)
    result: ReadResult = READERS[spec.reader](root, **dict(spec.reader_options))
    if not result.rows:
        raise DatasetLayoutError(f"{spec.name}: the {spec.reader} reader found no samples under {root}")
    captions = read_captions(root)
    for row in result.rows:  # a reader that sets caption (even to None) has the last word
        if "caption" not in row:
            row["caption"] = captions.get(row["path"])
    return Manifest(result.manifest(), result.class_table(), result.quarantine_table())
