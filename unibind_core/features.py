"""Decoded inputs and frozen backbone features, each computed once per benchmark and cached.

Decoding (reading thousands of files) and the frozen forward pass are the expensive parts of the
data side; both are keyed by what produced them so an unchanged benchmark is never decoded twice.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

from unibind_core.backbone import Backbone
from unibind_core.benchmarks.spec import BenchmarkSpec
from unibind_core.io import atomic_path, content_hash, table_hash
from unibind_core.tables import FEATURES
from unibind_core.modalities import load_sample


def decode_inputs(spec: BenchmarkSpec, root: Path, manifest: pa.Table, progress: bool = False) -> torch.Tensor:
    """Every manifest row through its modality loader: (N, *loader shape)."""
    options = dict(spec.loader_options)
    rows = manifest.to_pylist()
    tensors = []
    for row in tqdm(rows, desc=f"decode {spec.name}", disable=not progress, unit="sample"):
        try:
            tensors.append(load_sample(spec.modality, root, row, **options))
        except Exception as exc:  # name the sample: a bare decoder error is useless in a 10k-file run
            raise ValueError(f"{spec.name}: cannot load sample {row['sample_id']!r} ({row['path']}): {exc}") from exc
    return torch.stack(tensors)


def cached_inputs(spec: BenchmarkSpec, root: Path, manifest: pa.Table, cache_dir: Path,
                  progress: bool = False) -> torch.Tensor:
    """decode_inputs, cached in safetensors under a key of (manifest content, loader, options)."""
    key = content_hash(table_hash(manifest), spec.modality, json.dumps(dict(spec.loader_options), sort_keys=True))
    path = Path(cache_dir) / f"{spec.name}-{key}.safetensors"
    if path.is_file():
        return load_file(str(path))["inputs"]
    inputs = decode_inputs(spec, root, manifest, progress)
    with atomic_path(path) as tmp:
        save_file({"inputs": inputs.contiguous()}, str(tmp))
    for stale in Path(cache_dir).glob(f"{spec.name}-*.safetensors"):
        if stale != path:
            stale.unlink(missing_ok=True)
    return inputs


@torch.inference_mode()
def embed_inputs(backbone: Backbone, modality: str, inputs: torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """(N, *shape) -> (N, D) unit vectors from the frozen backbone."""
    out = [backbone.embed(modality, chunk) for chunk in inputs.split(batch_size)]
    return torch.cat(out).numpy().astype(np.float32)


def features_table(manifest: pa.Table, vectors: np.ndarray) -> pa.Table:
    """FEATURES table: the manifest's (sample_id, split, class_index) beside each sample's (D,) vector."""
    return FEATURES.table({c: manifest[c] for c in ("sample_id", "split", "class_index")}, vectors)
