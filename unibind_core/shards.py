"""Row shards of the long per-benchmark stages (features, text embeddings, captions).

A stage's rows, in its own fixed order, are cut into contiguous ranges of `shard_size` rows. A shard is
both the unit a killed run resumes after (its result is stored as soon as it is complete) and, with the
`fan_out` option, the unit of one Dagster step (assets/sharded.py maps each shard to a step, so the
multiprocess executor runs them in parallel and Kubernetes or Ray one pod / job each). Whatever ran the
shards, the stage's own step then assembles the one output, which is why sharded and unsharded runs give
the same table (docs/architecture.md, "Shards").
"""
from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from unibind_core.io import INPUTS_KEY
from unibind_core.table_contract import TableContract

_KEY = re.compile(r"^(\d+)_(\d+)$")


@dataclass(frozen=True, order=True)
class Shard:
    """Rows [start, stop) of a stage's row order."""

    start: int
    stop: int

    @property
    def key(self) -> str:
        """The Dagster mapping key of the shard's step (letters, digits and `_` only)."""
        return f"{self.start}_{self.stop}"

    @classmethod
    def from_key(cls, key: str) -> Shard:
        match = _KEY.match(key)
        if not match or int(match[1]) >= int(match[2]):
            raise ValueError(f"not a shard key: {key!r} (expected '<start>_<stop>')")
        return cls(int(match[1]), int(match[2]))

    def __len__(self) -> int:
        return self.stop - self.start


def plan_shards(rows: int, size: int) -> list[Shard]:
    """Contiguous shards of at most `size` rows covering [0, rows); none for no rows."""
    if size < 1:
        raise ValueError(f"shard size must be at least 1, got {size}")
    return [Shard(start, min(rows, start + size)) for start in range(0, rows, size)]


class ShardFiles:
    """The stored shard results of one computation: `<root>/<key>/<start>_<stop>.parquet`.

    `key` identifies what the shards are computed from (inputs, model, options), so a changed option starts
    an empty folder and a stale one never mixes in. Each file is written atomically by the contract, so a
    file present is a shard complete."""

    def __init__(self, root: Path, key: str, contract: TableContract) -> None:
        self.root, self.key, self.contract = Path(root), key, contract
        self.folder = self.root / key

    def path(self, shard: Shard) -> Path:
        return self.folder / f"{shard.key}.parquet"

    def done(self, shard: Shard) -> bool:
        """Complete and readable with this key's stamp (a damaged file is removed and counts as not done)."""
        path = self.path(shard)
        if not path.is_file():
            return False
        try:
            if self.contract.stamp(path, INPUTS_KEY) == self.key:
                return True
        except ValueError:
            pass
        path.unlink(missing_ok=True)
        return False

    def write(self, shard: Shard, table: pa.Table, facts: dict | None = None) -> Path:
        """Store a shard's rows; `facts` (JSON-able) ride along in the file's metadata (e.g. its failures)."""
        stamps = {"shard_facts": json.dumps(facts or {})}
        return self.contract.write(table, self.path(shard), inputs_key=self.key, stamps=stamps)

    def facts(self, shard: Shard) -> dict:
        value = self.contract.stamp(self.path(shard), "shard_facts")
        return json.loads(value) if value else {}

    def tables(self, shards: list[Shard]) -> Iterator[pa.Table]:
        """Each shard's rows in shard order, one file in memory at a time."""
        for shard in shards:
            yield pq.read_table(self.path(shard))

    def remove(self) -> None:
        """Drop this computation's shards and every stale key's beside them (the assembled output replaces them)."""
        if self.root.is_dir():
            shutil.rmtree(self.root, ignore_errors=True)
