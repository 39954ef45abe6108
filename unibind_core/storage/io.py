"""Atomic, idempotent persistence: Parquet tables, fixed-size vector columns, content hashes.

Every write goes to a temporary name in the target folder and is renamed into place, so a crash never
leaves a half-written file where a reader would find it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from safetensors import SafetensorError

from unibind_core.core.progress import note

# What a damaged or foreign stored file raises when read: the file system's errors, a bad Parquet footer
# (pa.ArrowInvalid is a ValueError), bad JSON metadata (ValueError), a missing metadata entry (KeyError),
# a bad safetensors header or slice (SafetensorError). Anything else is a bug and propagates.
CACHE_READ_ERRORS: tuple[type[Exception], ...] = (OSError, ValueError, KeyError, SafetensorError)

_LOG = logging.getLogger("unibind_core.cache")


def report_unreadable(path: str | Path, exc: BaseException, then: str = "recomputing") -> None:
    """One line naming the stored file that could not be read and why, before it is recomputed: to the run's
    progress listener (the Dagster run log, the CLI) and to Python logging (plain-Python use)."""
    line = f"cannot read {path}: {type(exc).__name__}: {str(exc)[:300]}; {then}"
    note("cache", line)
    _LOG.warning(line)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def file_lock(path: str | Path) -> Iterator[None]:
    """An exclusive advisory lock on `path` (created if needed) for the block; freed when the process exits."""
    import fcntl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def write_bytes(data: bytes, path: str | Path) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def vector_type(dim: int) -> pa.DataType:
    """Vectors are stored as fixed_size_list<float32>[dim] (docs/architecture.md, Tables)."""
    return pa.list_(pa.float32(), dim)


_CHECK_ROWS = 1 << 16  # rows checked for NaN/inf at a time


def vectors_to_arrow(vectors: np.ndarray) -> pa.FixedSizeListArray:
    """(N, D) float array -> Arrow fixed_size_list<float32>[D]; refuses NaN/inf so none is ever stored."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise ValueError(f"expected an (N, D) array of vectors, got shape {vectors.shape}")
    bad = sum(
        int((~np.isfinite(vectors[i : i + _CHECK_ROWS]).all(axis=1)).sum())  # in blocks: no (N, D) mask
        for i in range(0, len(vectors), _CHECK_ROWS)
    )
    if bad:
        raise ValueError(f"{bad} of {len(vectors)} vectors contain NaN or inf; nothing was written")
    flat = pa.array(vectors.reshape(-1), type=pa.float32())
    return pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1])


def arrow_to_vectors(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Arrow fixed_size_list<float32>[D] column -> (N, D) float32 array."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.array([], type=column.type)
    dim = column.type.list_size
    return column.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False).reshape(-1, dim)


def text_hash(text: str) -> str:
    """Stable key of a text's content (the embedding cache key)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def content_hash(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8") if isinstance(part, str) else part)
        h.update(b"\x00")
    return h.hexdigest()[:32]


def table_hash(table: pa.Table) -> str:
    """Hash of a table's content and schema (its data version): identical tables hash identically."""
    sink = pa.BufferOutputStream()  # one chunk per column: the hash must not depend on how a reader chunked it
    with pa.ipc.new_stream(sink, table.schema.remove_metadata()) as writer:
        writer.write_table(table.replace_schema_metadata(None).combine_chunks())
    return content_hash(sink.getvalue().to_pybytes())


def file_hash(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:32]


INPUTS_KEY = "unibind_inputs_key"
SPACE_KEY = "unibind_space"  # the embedding space of a table's vectors (encoders/backbone/select.py space_id)


def stored_inputs_key(path: str | Path) -> str | None:
    """The inputs key a Parquet or safetensors output was stamped with, or None if absent/unreadable."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        if path.suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(path), "pt") as f:
                return (f.metadata() or {}).get(INPUTS_KEY)
        meta = pq.read_schema(path).metadata or {}
        value = meta.get(INPUTS_KEY.encode())
        return value.decode() if value else None
    except CACHE_READ_ERRORS as exc:  # an unreadable output is simply not current: it gets recomputed
        report_unreadable(path, exc)
        return None
