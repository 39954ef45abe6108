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
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from unibind_core.storage.io import CACHE_READ_ERRORS, INPUTS_KEY, report_unreadable
from unibind_core.storage.table_contract import TableContract

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


PLAN_FILE = "plan.json"


@dataclass(frozen=True)
class ShardPlan:
    """What a plan step derived once for its shard steps: the computation's key and row count, and the facts
    that key was built from (`facts`, JSON-able). Deriving them costs one stat of every dataset file and a
    hash of the checkpoint; at ImageNet scale (1.28 M files, a multi-GB checkpoint) that is seconds to minutes
    a step, so each of hundreds of shard steps reads it here instead. A plan is a shortcut, never the truth:
    the assembling stage derives the key itself, so a plan gone stale (inputs changed between the plan step
    and a shard step) only costs recomputing the shards under the right key."""

    rows: int
    shard_size: int
    key: str
    facts: dict = field(default_factory=dict)

    @property
    def shards(self) -> list[Shard]:
        return plan_shards(self.rows, self.shard_size)

    def write(self, folder: Path) -> Path:
        """Store the plan atomically (a reader sees the old plan or the new one, never half of one)."""
        folder.mkdir(parents=True, exist_ok=True)
        path, tmp = folder / PLAN_FILE, folder / f".{PLAN_FILE}.{os.getpid()}.tmp"
        tmp.write_text(
            json.dumps(
                {"rows": self.rows, "shard_size": self.shard_size, "key": self.key, "facts": self.facts}, sort_keys=True
            )
        )
        os.replace(tmp, path)
        return path

    @classmethod
    def read(cls, folder: Path, rows: int, shard_size: int) -> ShardPlan | None:
        """The stored plan for `rows` rows in shards of `shard_size`; None when there is none, it cannot be
        read, or it was made for another row count or shard size (the caller then derives the key itself)."""
        try:
            data = json.loads((folder / PLAN_FILE).read_text())
            plan = cls(int(data["rows"]), int(data["shard_size"]), str(data["key"]), dict(data.get("facts") or {}))
        except FileNotFoundError:
            return None
        except (*CACHE_READ_ERRORS, TypeError) as exc:
            report_unreadable(folder / PLAN_FILE, exc, "deriving the key again")
            return None
        return plan if (plan.rows, plan.shard_size) == (rows, shard_size) else None


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
        except CACHE_READ_ERRORS as exc:
            report_unreadable(path, exc, "computing the shard again")
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
