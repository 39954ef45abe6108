"""Embed a user's own files and texts exactly as the pipeline embeds a benchmark (`unibind embed`).

Files go through the modality's loader (the readers' LOADERS, with the loader options a benchmark would use),
`decode_inputs`, `load_backbone` and `embed_inputs`, as in `stage_features`; texts through the text tower of
the same backbone, as in `stage_text_embeddings`. So a file's vector here equals its feature in the pipeline
under the same backbone, weights, views and loader options.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from unibind_core.core.settings import Settings
from unibind_core.data.benchmarks.spec import BenchmarkSpec
from unibind_core.data.decoding import decode_inputs, embed_inputs
from unibind_core.data.modalities import LOADERS
from unibind_core.encoders.backbone.select import load_backbone, space_id, text_tower
from unibind_core.encoders.backbone.select import loader_options as view_options
from unibind_core.storage.tables import EMBEDDED, InputKind


def file_manifest(files: Sequence[Path]) -> tuple[Path, pa.Table]:
    """(common root, manifest rows of `files` relative to it): the shape the loaders read."""
    paths = [Path(os.path.abspath(f)) for f in files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"no such file: {', '.join(missing[:5])}")
    root = Path(os.path.commonpath([str(p.parent) for p in paths]))
    rel = [str(p.relative_to(root)) for p in paths]
    n = len(rel)
    return root, pa.table(
        {
            "sample_id": rel,
            "path": rel,
            "split": ["test"] * n,
            "box": pa.nulls(n, pa.list_(pa.int32())),
            "paired_path": pa.nulls(n, pa.string()),
        }
    )


def embed_files(s: Settings, modality: str, files: Sequence[Path], loader_options: Mapping[str, Any]) -> np.ndarray:
    """(N,) files of one modality -> (N, D) unit vectors; a file that does not decode is an error naming it."""
    LOADERS.require(modality)
    backbone = load_backbone(s, modality)  # refuses a modality the backbone does not embed, before decoding
    root, manifest = file_manifest(files)
    loader_options = {**loader_options, **view_options(s, modality)}  # as the features stage extends them
    spec = BenchmarkSpec(
        name="unibind embed", modality=modality, reader="-", root=str(root), loader_options=dict(loader_options)
    )
    decoded = decode_inputs(spec, root, manifest)
    if decoded.failures:
        shown = "; ".join(f"{root / f['path']}: {f['reason']}" for f in decoded.failures[:5])
        raise ValueError(f"{len(decoded.failures)} of {len(files)} files did not decode as {modality}: {shown}")
    return embed_inputs(backbone, modality, decoded.inputs, s.batch_size, meta=dict(loader_options))


def embed_text_inputs(s: Settings, texts: Sequence[str], modality: str | None = None) -> np.ndarray:
    """(N,) texts -> (N, D) unit vectors from the text tower of the backbone that embeds `modality`."""
    return text_tower(s, modality).encode(list(texts)).astype(np.float32)


def embedded_table(
    s: Settings,
    modality: str | None,
    files: Sequence[Path],
    file_vectors: np.ndarray | None,
    texts: Sequence[str],
    text_vectors: np.ndarray | None,
) -> pa.Table:
    """EMBEDDED rows: the files in the order given, then the texts."""
    parts = [v for v in (file_vectors, text_vectors) if v is not None and len(v)]
    vectors = np.concatenate(parts) if parts else np.zeros((0, 1), np.float32)
    n_files, n_texts = len(files), len(texts)
    return EMBEDDED.table(
        {
            "kind": [str(InputKind.FILE)] * n_files + [str(InputKind.TEXT)] * n_texts,
            "path": [os.path.abspath(f) for f in files] + [None] * n_texts,
            "text": [None] * n_files + list(texts),
            "modality": [modality] * (n_files + n_texts),
            "backbone": [space_id(s, modality)] * (n_files + n_texts),
        },
        vectors,
    )
