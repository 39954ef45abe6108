"""Read a benchmark from disk into its manifest, attaching captions shipped with the data."""
from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from unibind_core.data.benchmarks.manifest import DatasetLayoutError, ReadResult
from unibind_core.data.benchmarks.readers import READERS
from unibind_core.data.benchmarks.spec import BenchmarkSpec
from unibind_core.demo.world import CAPTIONS_FILE

SHOWN_MISSING = 5
SAMPLE_KEY = "\0sample:"  # captions keyed by sample_id, apart from paths


@dataclass(frozen=True)
class Manifest:
    table: pa.Table  # MANIFEST_SCHEMA
    classes: pa.Table  # CLASSES_SCHEMA
    quarantine: pa.Table  # QUARANTINE_SCHEMA
    missing: tuple[str, ...] = ()  # keys of classes without a sample in this copy (a subset)

    def split_counts(self) -> dict[str, int]:
        counts = pc.value_counts(self.table["split"]).to_pylist()
        return {c["values"]: c["counts"] for c in counts}

    def missing_summary(self) -> str:
        """'3 of 101 classes have no sample here: a, b, c' (empty when every class has samples)."""
        if not self.missing:
            return ""
        shown = ", ".join(self.missing[:SHOWN_MISSING]) + (", ..." if len(self.missing) > SHOWN_MISSING else "")
        return f"{len(self.missing)} of {self.classes.num_rows} classes have no sample here: {shown}"


def dataset_root(spec: BenchmarkSpec, datasets_dir: Path) -> Path:
    """The first of the spec's root names that is a folder under `datasets_dir` (a Princeton `ModelNet40/`
    copy is found as well as `modelnet40_normal_resampled/`); else an error naming every place looked in."""
    candidates = [Path(datasets_dir) / name for name in spec.root_names]
    for root in candidates:
        if root.is_dir():
            return root
    also = f" (nor {', '.join(str(c) for c in candidates[1:])})" if len(candidates) > 1 else ""
    raise DatasetLayoutError(f"dataset root of {spec.name} does not exist: {candidates[0]}{also}; put the "
                             f"dataset under one of these names")


def read_captions(root: Path) -> dict[str, str]:
    """Captions shipped with a dataset (the demo world's, or a researcher's), one JSON record a line: keyed
    by relative `path` (every sample of that file), or by `sample_id` (one sample: a crop of a frame)."""
    path = root / CAPTIONS_FILE
    if not path.is_file():
        return {}
    captions = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            key = f"{SAMPLE_KEY}{entry['sample_id']}" if "sample_id" in entry else entry["path"]
            captions[key] = entry["caption"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{n} is not a caption record ({exc})") from exc
    return captions


def reader_options(spec: BenchmarkSpec, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The spec's reader options updated by `overrides` (CLI `--option`, the `reader_options` setting);
    an option the reader does not take is a DatasetLayoutError listing the ones it does."""
    options = {**dict(spec.reader_options), **dict(overrides or {})}
    params = inspect.signature(READERS[spec.reader]).parameters
    known = [name for name in params if name != "root"]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise DatasetLayoutError(f"the {spec.reader} reader of {spec.name} has no option {', '.join(unknown)}; "
                                 f"its options: {', '.join(known)}")
    return {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}


def read_root(spec: BenchmarkSpec, root: Path, overrides: Mapping[str, Any] | None = None) -> Manifest:
    """Read the dataset at `root` with the spec's reader and options (updated by `overrides`)."""
    result: ReadResult = READERS[spec.reader](root, **reader_options(spec, overrides)).dense()
    if not result.rows:
        raise DatasetLayoutError(f"{spec.name}: the {spec.reader} reader found no samples under {root}")
    captions = read_captions(root)
    for row in result.rows:  # a caption for the sample wins; else a reader that sets one (even None); else the file's;
        # else the spec's template
        own = captions.get(f"{SAMPLE_KEY}{row['sample_id']}")
        if own is not None:
            row["caption"] = own
        elif "caption" not in row:
            row["caption"] = captions.get(row["path"])
        if row["caption"] is None and spec.caption_template is not None:  # your own data's offline default
            row["caption"] = spec.caption_template.format(class_name=row["class_name"])
    missing = tuple(c.key for c in result.missing_classes())
    return Manifest(result.manifest(), result.class_table(), result.quarantine_table(), missing)


def build_manifest(spec: BenchmarkSpec, datasets_dir: Path, overrides: Mapping[str, Any] | None = None) -> Manifest:
    return read_root(spec, dataset_root(spec, datasets_dir), overrides)
