"""Decoded inputs and frozen backbone features, each computed once per benchmark and cached.

Decoding (reading thousands of files) and the frozen forward pass are the expensive parts of the
data side; both are keyed by what produced them so an unchanged benchmark is never decoded twice.

Decoded samples travel as `Samples`: one stacked (M, *shape) tensor when every sample has the same shape
and dtype (every loader at a fixed size), else a list of M tensors (images, thermal crops and video frames
decoded at their native size for a backbone that resizes with its model's own preprocessing). The
decoded-input cache keeps them as they are: a stacked tensor as `inputs`, a list as one safetensors tensor
per sample (`inputs.<i>`, uint8 for 8-bit pixels), so it holds decoded, not model-resized, samples.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from unibind_core.encoders.backbone import Backbone
from unibind_core.data.benchmarks.spec import BenchmarkSpec
from unibind_core.core.code_versions import code_version
from unibind_core.storage.io import CACHE_READ_ERRORS, atomic_path, content_hash, report_unreadable, table_hash
from unibind_core.data.benchmarks.manifest import resolve_inside, split_member
from unibind_core.data.modalities import load_sample
from unibind_core.core.progress import track
from unibind_core.storage.tables import FEATURES

Samples = torch.Tensor | list[torch.Tensor]  # (M, *shape) stacked, or M tensors of their own shapes


def stack_samples(tensors: list[torch.Tensor]) -> Samples:
    """One (M, *shape) tensor when every sample has one shape and dtype, else the list as it is."""
    if tensors and all(t.shape == tensors[0].shape and t.dtype == tensors[0].dtype for t in tensors):
        return torch.stack(tensors)
    return list(tensors) if tensors else torch.empty(0)


@dataclass(frozen=True)
class DecodedInputs:
    """The manifest rows that decoded, as Samples, and why the others did not."""

    inputs: Samples  # (M, *loader shape) or M tensors: rows where `ok`
    ok: np.ndarray  # (N,) bool over the manifest's rows
    failures: list[dict]  # QUARANTINE rows (path, reason) of the rows that did not decode

    def rows(self, manifest: pa.Table) -> pa.Table:
        return manifest.filter(pa.array(self.ok))


def inputs_key(spec: BenchmarkSpec, root: Path, manifest: pa.Table) -> str:
    """What decoded inputs depend on: the manifest, the loader options, and each file's size and mtime,
    so a file replaced or damaged after the manifest was written is decoded again (one stat per file)."""
    h = hashlib.sha256()
    stats: dict[str, str] = {}  # one stat per file: ModelNet40's HDF5 holds ~2,000 rows (`file.h5#3`) a file
    for relative in manifest["path"].to_pylist():
        file = split_member(relative)[0]
        if file not in stats:
            try:
                st = os.stat(resolve_inside(root, file))
                stats[file] = f"{st.st_size}\0{st.st_mtime_ns}"
            except (OSError, ValueError):
                stats[file] = "missing"
        h.update(f"{relative}\0{stats[file]}\n".encode())
    return content_hash(table_hash(manifest), spec.modality, json.dumps(dict(spec.loader_options), sort_keys=True),
                        h.hexdigest(), code_version("decode"))


def decode_rows(spec: BenchmarkSpec, root: Path, manifest: pa.Table) -> DecodedInputs:
    """Every manifest row through its modality loader; a row that fails is set aside with its reason
    (`inputs` is empty when none decoded: a shard may hold only bad files)."""
    options = dict(spec.loader_options)
    tensors, ok, failures = [], [], []
    for row in track(manifest.to_pylist(), f"decode {spec.name}", unit="sample"):
        try:
            tensors.append(load_sample(spec.modality, root, row, **options))
            ok.append(True)
        except Exception as exc:  # noqa: BLE001  (any decoder error quarantines one sample, not the partition)
            failures.append({"path": row["path"], "reason": f"cannot decode: {exc}"[:500]})
            ok.append(False)
    return DecodedInputs(stack_samples(tensors), np.array(ok, dtype=bool), failures)


def decode_inputs(spec: BenchmarkSpec, root: Path, manifest: pa.Table) -> DecodedInputs:
    """`decode_rows` of a whole benchmark, which must decode at least one sample."""
    decoded = decode_rows(spec, root, manifest)
    if not len(decoded.inputs):
        first = decoded.failures[0] if decoded.failures else {"path": "-", "reason": "the manifest is empty"}
        raise ValueError(f"{spec.name}: no sample could be decoded (first {first['path']}: {first['reason']})")
    return decoded


def _cache_path(spec: BenchmarkSpec, cache_dir: Path, key: str) -> Path:
    return Path(cache_dir) / f"{spec.name}-{key}.safetensors"


def _read_samples(f: Any, first: int, last: int) -> Samples:
    """Samples [first, last) of an open cache file: a slice of `inputs`, else the listed `inputs.<i>`."""
    if "inputs" in f.keys():
        return f.get_slice("inputs")[first:last]
    return [f.get_tensor(f"inputs.{i}") for i in range(first, last)]


def _write_cache(path: Path, decoded: DecodedInputs) -> None:
    samples = decoded.inputs
    tensors = ({"inputs": samples.contiguous()} if isinstance(samples, torch.Tensor)
               else {f"inputs.{i}": t.contiguous() for i, t in enumerate(samples)})
    with atomic_path(path) as tmp:
        save_file({**tensors, "ok": torch.from_numpy(decoded.ok.astype(np.uint8))}, str(tmp),
                  metadata={"failures": json.dumps(decoded.failures)})


def cached_rows(spec: BenchmarkSpec, manifest: pa.Table, cache_dir: Path, key: str, start: int, stop: int
                ) -> DecodedInputs | None:
    """Rows [start, stop) of a benchmark's decoded-input cache when one exists under `key` (the demo's
    pre-training decodes everything first), reading only that slice; None when there is none."""
    path = _cache_path(spec, cache_dir, key)
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), "pt") as f:
            ok = f.get_tensor("ok").numpy().astype(bool)
            first, last = int(ok[:start].sum()), int(ok[:stop].sum())
            inputs = _read_samples(f, first, last)
            failures = json.loads((f.metadata() or {})["failures"])
    except CACHE_READ_ERRORS as exc:  # a damaged cache entry: decode the files instead
        report_unreadable(path, exc, "decoding the files instead")
        return None
    paths = set(manifest["path"].slice(start, stop - start).to_pylist())
    return DecodedInputs(inputs, ok[start:stop], [x for x in failures if x["path"] in paths])


def cached_inputs(spec: BenchmarkSpec, root: Path, manifest: pa.Table, cache_dir: Path,
                  key: str | None = None, refresh: bool = False) -> DecodedInputs:
    """decode_inputs, cached in safetensors under `inputs_key`; an unreadable cache file is decoded again
    (`refresh`: decoded again regardless)."""
    key = key or inputs_key(spec, root, manifest)
    path = _cache_path(spec, cache_dir, key)
    if path.is_file() and not refresh:
        try:
            with safe_open(str(path), "pt") as f:
                failures = json.loads((f.metadata() or {})["failures"])
                ok = f.get_tensor("ok").numpy().astype(bool)
                return DecodedInputs(_read_samples(f, 0, int(ok.sum())), ok, failures)
        except CACHE_READ_ERRORS as exc:  # a damaged cache entry costs a re-decode, never the run
            report_unreadable(path, exc, "decoding the files again")
            path.unlink(missing_ok=True)
    decoded = decode_inputs(spec, root, manifest)
    _write_cache(path, decoded)
    for stale in Path(cache_dir).glob(f"{spec.name}-*.safetensors"):
        if stale != path:
            stale.unlink(missing_ok=True)
    return decoded


@torch.inference_mode()
def embed_inputs(backbone: Backbone, modality: str, inputs: Samples, batch_size: int = 256,
                 meta: dict | None = None) -> np.ndarray:
    """(N, *shape) or N samples -> (N, D) unit vectors from the frozen backbone (`meta`: the loader options)."""
    # a backbone whose every call has a fixed cost (one launch in its own environment) asks for bigger calls
    rows = getattr(backbone, "call_rows", None) or batch_size
    chunks = inputs.split(rows) if isinstance(inputs, torch.Tensor) else \
        [inputs[i:i + rows] for i in range(0, len(inputs), rows)]
    out = [backbone.embed(modality, chunk, meta) for chunk in track(chunks, f"embed {modality}", unit="batch")]
    return torch.cat(out).numpy().astype(np.float32)


def features_table(manifest: pa.Table, vectors: np.ndarray) -> pa.Table:
    """FEATURES table: the manifest's (sample_id, split, class_index) beside each sample's (D,) vector."""
    return FEATURES.table({c: manifest[c] for c in ("sample_id", "split", "class_index")}, vectors)
