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

from unibind_core.core.code_versions import code_version
from unibind_core.encoders.text import TextEncoder
from unibind_core.storage.io import content_hash, report_unreadable, text_hash
from unibind_core.storage.tables import TEXT_CACHE_SHARD


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


class _Slots:
    """Where each unique text goes: the (N,) texts' hashes -> U unique slots (first-occurrence order) and, per
    slot, the rows that hold it, so a cached or new vector is written straight into every row of the (N, D)
    output (no dict of vectors and no stacked copy: at ImageNet size each would be 9.7 GB)."""

    def __init__(self, hashes: list[str]) -> None:
        self.slot: dict[str, int] = {}
        inverse = np.fromiter((self.slot.setdefault(h, len(self.slot)) for h in hashes), np.int64, len(hashes))
        self.order = np.argsort(inverse, kind="stable")
        self.counts = np.bincount(inverse, minlength=len(self.slot))
        self.starts = np.cumsum(self.counts) - self.counts
        self.filled = np.zeros(len(self.slot), bool)

    def put(self, out: np.ndarray, slots: np.ndarray, vectors: np.ndarray) -> None:
        """(S,) slots, (S, D) their vectors -> every row of each slot in `out` (a later write of a slot wins)."""
        c = self.counts[slots]
        within = np.arange(int(c.sum())) - np.repeat(np.cumsum(c) - c, c)
        out[self.order[np.repeat(self.starts[slots], c) + within]] = vectors[np.repeat(np.arange(len(slots)), c)]
        self.filled[slots] = True

    def first_row(self, slots: np.ndarray) -> np.ndarray:
        return self.order[self.starts[slots]]


def _fill_from_cache(cache_dir: Path, slots: _Slots, out: np.ndarray) -> list[str]:
    """Cached vectors of the wanted texts written into `out`; -> the shards set aside: a shard that cannot be
    read, holds vectors of another size or non-unit vectors is renamed `*.corrupt` (kept for inspection) and
    its texts are simply embedded again, never a permanent failure."""
    set_aside = []
    for shard in sorted(cache_dir.glob("*.parquet")):
        try:
            if TEXT_CACHE_SHARD.dim(shard) != out.shape[1]:
                raise ValueError(f"vectors of size {TEXT_CACHE_SHARD.dim(shard)}, not {out.shape[1]}")
            rows, vectors = TEXT_CACHE_SHARD.read_vectors(shard, ("text_hash",))
        except (ValueError, OSError) as exc:
            report_unreadable(shard, exc, "set aside as .corrupt, its texts embedded again")
            aside = shard.with_suffix(".corrupt")
            os.replace(shard, aside)
            set_aside.append(f"{shard.name}: {str(exc)[:200]}")
            continue
        found = [slots.slot.get(h, -1) for h in rows["text_hash"].to_pylist()]
        wanted = np.flatnonzero(np.asarray(found, np.int64) >= 0)
        if len(wanted):
            slots.put(out, np.asarray(found, np.int64)[wanted], vectors[wanted])
    return set_aside


def embed_texts(
    texts: list[str], encoder: TextEncoder, cache_root: Path, shard_size: int = 8192, refresh: bool = False
) -> tuple[np.ndarray, EmbedReport]:
    """(N,) texts -> (N, D) unit vectors, embedding only texts whose hash is not cached yet (`refresh`: every
    text, the cache not read). New vectors are stored every `shard_size` texts (one cache shard each), so a
    run killed part-way keeps what it embedded. Memory: the (N, D) result and one shard beside it."""
    hashes = [text_hash(t) for t in texts]
    cache_dir = cache_dir_for(cache_root, encoder.name)
    slots = _Slots(hashes)
    out = np.empty((len(hashes), encoder.dim), np.float32)
    set_aside = [] if refresh else _fill_from_cache(cache_dir, slots, out)
    todo = np.flatnonzero(~slots.filled)
    todo = todo[np.argsort([hashes[r] for r in slots.first_row(todo)], kind="stable")]  # by hash, as shards are
    for start in range(0, len(todo), shard_size):
        part = todo[start : start + shard_size]
        rows = slots.first_row(part)
        vectors = encoder.encode([texts[r] for r in rows])
        part_hashes = [hashes[r] for r in rows]
        TEXT_CACHE_SHARD.write(
            TEXT_CACHE_SHARD.table({"text_hash": part_hashes}, vectors),
            cache_dir / f"{content_hash(*part_hashes)}.parquet",
        )
        slots.put(out, part, np.asarray(vectors, np.float32))
    return out, EmbedReport(texts=len(texts), unique=len(slots.slot), embedded=len(todo), set_aside=tuple(set_aside))
