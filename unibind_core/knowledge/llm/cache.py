"""Durable progress of an LLM run: every answered request, and every Batch API job, in one SQLite file.

An answer is committed here by the thread that received it, before anything counts it, so a run killed
at any point and restarted re-sends only requests that were never answered (issue 3). WAL mode lets
readers and the single writer proceed together; `synchronous=NORMAL` is durable across process crashes
(a power cut may lose the last commits, which are then simply asked again).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from unibind_core.storage.io import content_hash

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    digest TEXT PRIMARY KEY, backend TEXT NOT NULL, model TEXT NOT NULL, prompt TEXT NOT NULL,
    category TEXT NOT NULL, chunk INTEGER NOT NULL, text TEXT NOT NULL, tokens_in INTEGER NOT NULL,
    tokens_out INTEGER NOT NULL, finish_reason TEXT, attempt INTEGER NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    file_id TEXT PRIMARY KEY, backend TEXT NOT NULL, model TEXT NOT NULL, batch_id TEXT,
    state TEXT NOT NULL, n_requests INTEGER NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS batch_items (
    file_id TEXT NOT NULL, digest TEXT NOT NULL, backend TEXT NOT NULL, model TEXT NOT NULL, prompt TEXT NOT NULL,
    category TEXT NOT NULL, chunk INTEGER NOT NULL, attempt INTEGER NOT NULL, PRIMARY KEY (file_id, digest));
"""


@dataclass(frozen=True)
class RequestKey:
    """What identifies one request, and so one paid answer: backend, model, prompt, category, chunk index."""

    backend: str
    model: str
    prompt: str
    category: str
    chunk: int

    @property
    def digest(self) -> str:
        return content_hash(self.backend, self.model, self.prompt, self.category, str(self.chunk))


@dataclass(frozen=True)
class Reply:
    """One raw answer of a model, as stored (parsing happens on read, so a better parser needs no re-run)."""

    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    finish_reason: str | None = None
    refusal: str | None = None  # the API's refusal field (not stored: a refusal is asked again anyway)


@dataclass(frozen=True)
class BatchRecord:
    file_id: str
    batch_id: str | None
    keys: dict[str, tuple[RequestKey, int]]  # digest (the request's custom_id) -> (key, attempt)


class ResponseCache:
    """Answered requests keyed by `RequestKey`, plus the ledger of submitted Batch API jobs."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # one connection shared by the worker threads
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=60.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, rows: list[tuple]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(sql, rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _read(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- responses -------------------------------------------------------------------------------------
    def get(self, keys: Iterable[RequestKey]) -> dict[str, tuple[Reply, int]]:
        """Stored answers of `keys` and the attempt each answers, by digest (absent: never answered)."""
        digests = [k.digest for k in keys]
        found: dict[str, tuple[Reply, int]] = {}
        for start in range(0, len(digests), 500):  # SQLite's bound-parameter limit
            part = digests[start : start + 500]
            rows = self._read(
                f"SELECT digest, text, tokens_in, tokens_out, finish_reason, attempt FROM responses "
                f"WHERE digest IN ({','.join('?' * len(part))})",
                tuple(part),
            )
            found.update({d: (Reply(t, i, o, f), a) for d, t, i, o, f, a in rows})
        return found

    def put(self, key: RequestKey, reply: Reply, attempt: int = 0) -> None:
        """Commit one answer, usable or not (an upsert: a request has exactly one row, its latest answer;
        `attempt` is remembered so a restart never asks the same attempt, with the same seed, twice)."""
        self._write(
            "INSERT INTO responses VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(digest) DO UPDATE SET "
            "text=excluded.text, tokens_in=excluded.tokens_in, tokens_out=excluded.tokens_out, "
            "finish_reason=excluded.finish_reason, attempt=excluded.attempt, created_at=excluded.created_at",
            [
                (
                    key.digest,
                    key.backend,
                    key.model,
                    key.prompt,
                    key.category,
                    key.chunk,
                    reply.text,
                    reply.tokens_in,
                    reply.tokens_out,
                    reply.finish_reason,
                    attempt,
                    time.time(),
                )
            ],
        )

    def count(self) -> int:
        return self._read("SELECT COUNT(*) FROM responses")[0][0]

    # -- Batch API ledger ------------------------------------------------------------------------------
    def record_upload(self, file_id: str, backend: str, model: str, keys: list[tuple[RequestKey, int]]) -> None:
        """Remember an uploaded input file and its (request, attempt)s *before* its batch is created."""
        self._write(
            "INSERT OR IGNORE INTO batch_items VALUES (?,?,?,?,?,?,?,?)",
            [(file_id, k.digest, k.backend, k.model, k.prompt, k.category, k.chunk, a) for k, a in keys],
        )
        self._write(
            "INSERT OR IGNORE INTO batches VALUES (?,?,?,?,?,?,?)",
            [(file_id, backend, model, None, "uploaded", len(keys), time.time())],
        )

    def record_batch(self, file_id: str, batch_id: str) -> None:
        self._write("UPDATE batches SET batch_id=?, state='submitted' WHERE file_id=?", [(batch_id, file_id)])

    def mark_done(self, file_id: str) -> None:
        """The batch is terminal and its outputs are ingested: its requests may be sent again if unanswered."""
        self._write("UPDATE batches SET state='done' WHERE file_id=?", [(file_id,)])

    def open_batches(self, backend: str, model: str) -> list[BatchRecord]:
        """Batches uploaded or submitted by any earlier process and not yet ingested."""
        heads = self._read(
            "SELECT file_id, batch_id FROM batches WHERE backend=? AND model=? AND state!='done' ORDER BY created_at",
            (backend, model),
        )
        records = []
        for file_id, batch_id in heads:
            rows = self._read(
                "SELECT digest, backend, model, prompt, category, chunk, attempt FROM batch_items WHERE file_id=?",
                (file_id,),
            )
            records.append(BatchRecord(file_id, batch_id, {d: (RequestKey(*rest), a) for d, *rest, a in rows}))
        return records
