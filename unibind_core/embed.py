"""Text embedding with a content-hash cache: an unchanged text is never embedded twice.

The cache of one text encoder is a folder of append-only Parquet shards (text_hash, vector). New
vectors go to a new shard written atomically, so concurrent partitions never write the same file.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from unibind_core.code_versions import code_version
from unibind_core.io import content_hash, report_unreadable, text_hash
from unibind_core.tables import TEXT_CACHE_SHARD
from unibind_core.text import TextEncoder


@dataclass(frozen=True)
class EmbedReport:
    texts: int
    unique: int
    embedded: int  # texts that were not in the cache
    set_aside: tuple[str, ...] = ()  # unreadable cache shards renamed *.corrupt (name: reason)

    @property
    def cache_hit_ratio(self) -> float:
        return 1.0 - self.embedded / self.unique if self.unique else 1.0


def cache_dir_for(cache_root: Path, encoder_name: str) -> Path:
    """One folder per encoder and version of the text-tower code: a vector never outlives that code."""
    return Path(cache_root) / re.sub(r"[^A-Za-z0-9_.-]+", "_", encoder_name) / code_version("text_tower")


def _load_cache(cache_dir: Path, wanted: set[str], dim: int) -> tuple[dict[str, np.ndarray], list[str]]:
    """Cached vectors of the wanted hashes, and the shards set aside: a shard that cannot be read, holds
    vectors of another size or non-unit vectors is renamed `*.corrupt` (kept for inspection) and its
    texts are simply embedded again, never a permanent failure."""
    found: dict[str, np.ndarray] = {}
    set_aside = []
    want = pc.field("text_hash").isin(pa.array(sorted(wanted), pa.string()))
    for shard in sorted(cache_dir.glob("*.parquet")):
        try:
            if TEXT_CACHE_SHARD.dim(shard) != dim:
                raise ValueError(f"vectors of size {TEXT_CACHE_SHARD.dim(shard)}, not {dim}")
            rows, vectors = TEXT_CACHE_SHARD.read_vectors(shard, ("text_hash",), want)
        except (ValueError, OSError) as exc:
            report_unreadable(shard, exc, "set aside as .corrupt, its texts embedded again")
            aside = shard.with_suffix(".corrupt")
            os.replace(shard, aside)
            set_aside.append(f"{shard.name}: {str(exc)[:200]}")
            continue
        found.update(zip(rows["text_hash"].to_pylist(), vectors))
    return found, set_aside


def embed_texts(texts: list[str], encoder: TextEncoder, cache_root: Path, shard_size: int = 8192,
                refresh: bool = False) -> tuple[np.ndarray, EmbedReport]:
    """(N,) texts -> (N, D) unit vectors, embedding only texts whose hash is not cached yet (`refresh`: every
    text, the cache not read). New vectors are stored every `shard_size` texts (one cache shard each), so a
    run killed part-way keeps what it embedded."""
    hashes = [text_hash(t) for t in texts]
    cache_dir = cache_dir_for(cache_root, encoder.name)
    cached, set_aside = ({}, []) if refresh else _load_cache(cache_dir, set(hashes), encoder.dim)
    todo = {h: t for h, t in zip(hashes, texts) if h not in cached}
    new_hashes = sorted(todo)
    for start in range(0, len(new_hashes), shard_size):
        part = new_hashes[start:start + shard_size]
        vectors = encoder.encode([todo[h] for h in part])
        TEXT_CACHE_SHARD.write(TEXT_CACHE_SHARD.table({"text_hash": part}, vectors),
                               cache_dir / f"{content_hash(*part)}.parquet")
        cached.update(zip(part, vectors))
    out = np.stack([cached[h] for h in hashes]) if hashes else np.empty((0, encoder.dim), np.float32)
    return out, EmbedReport(texts=len(texts), unique=len(set(hashes)), embedded=len(todo), set_aside=tuple(set_aside))
