"""The caption cache: one folder per captioner of append-only Parquet shards (CAPTION_CACHE_SHARD).

A shard is written atomically as soon as a batch of answers is judged, so a run killed at any point
(SIGKILL included) loses at most the batch in flight, and a rerun — or another benchmark showing the
same images (Caltech-101 and N-Caltech101 through its paired RGB frames) — asks only for samples whose
key is in no shard. Keys are content hashes of what the model is shown, never paths. As the text cache
(knowledge/text_cache.py) does, an unreadable shard is renamed `*.corrupt` and its samples are simply captioned again.
Processes captioning shards of one benchmark in parallel write disjoint shard files; when a folder holds
more than `COMPACT_OVER` shards, the first reader folds them into one, under a file lock.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from unibind_core.core.code_versions import code_version
from unibind_core.storage.io import content_hash, file_lock, report_unreadable
from unibind_core.storage.tables import CAPTION_CACHE_SHARD, CaptionStatus

COMPACT_OVER = 256  # shards per folder before they are folded into one (reads stay one file open per shard)


def cache_dir_for(cache_root: Path, captioner_id: str) -> Path:
    """One folder per captioner and version of the captioning code (views, model wrappers, judge)."""
    return (
        Path(cache_root)
        / re.sub(r"[^A-Za-z0-9_.-]+", "_", captioner_id)[:120]
        / content_hash(captioner_id)[:8]
        / code_version("captioner")
    )


class CaptionCache:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.set_aside: list[str] = []  # "shard: reason" of shards renamed *.corrupt

    def shards(self) -> list[Path]:
        return sorted(self.folder.glob("*.parquet"))

    def _read(self, shard: Path, keys: pa.Array | None) -> pa.Table | None:
        try:
            return CAPTION_CACHE_SHARD.read(shard, filter=None if keys is None else pc.field("key").isin(keys))
        except FileNotFoundError:
            return None  # folded into another shard by a concurrent compaction: that shard is read instead
        except (ValueError, OSError) as exc:
            report_unreadable(shard, exc, "set aside as .corrupt, its samples captioned again")
            if shard.is_file():
                os.replace(shard, shard.with_suffix(".corrupt"))
                self.set_aside.append(f"{shard.name}: {str(exc)[:200]}")
            return None

    def load(self, keys: Iterable[str]) -> dict[str, dict]:
        """Stored rows of `keys` (a usable caption wins over a flag when two processes both answered)."""
        wanted = pa.array(sorted(set(keys)), pa.string())
        self.compact()
        found: dict[str, dict] = {}
        for _attempt in range(2):  # a shard folded away while listed: list again once
            missing = False
            for shard in self.shards():
                table = self._read(shard, wanted)
                if table is None:
                    missing = missing or not shard.with_suffix(".corrupt").exists()
                    continue
                for row in table.to_pylist():
                    old = found.get(row["key"])
                    if old is None or (old["status"] != CaptionStatus.OK and row["status"] == CaptionStatus.OK):
                        found[row["key"]] = row
            if not missing:
                break
        return found

    def append(self, rows: list[dict]) -> Path | None:
        """One new shard holding `rows`, written atomically (named by its keys and process)."""
        if not rows:
            return None
        keys = [r["key"] for r in rows]
        table = CAPTION_CACHE_SHARD.conform(pa.Table.from_pylist(rows))
        return CAPTION_CACHE_SHARD.write(table, self.folder / f"{content_hash(*keys, str(os.getpid()))}.parquet")

    def compact(self) -> None:
        """Fold every shard into one when there are more than COMPACT_OVER (under a lock: one process does it)."""
        if len(self.shards()) <= COMPACT_OVER:
            return
        with file_lock(self.folder / ".compact.lock"):
            shards = self.shards()
            if len(shards) <= COMPACT_OVER:
                return
            tables = [t for t in (self._read(s, None) for s in shards) if t is not None]
            merged = pa.concat_tables(tables) if tables else None
            if merged is not None:
                CAPTION_CACHE_SHARD.write(merged, self.folder / f"{content_hash(*map(str, shards))}.parquet")
            for shard in shards:
                shard.unlink(missing_ok=True)
