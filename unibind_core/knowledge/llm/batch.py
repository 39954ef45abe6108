"""The OpenAI Batch API as a mode of the openai backend: half price, answers within 24 h.

Requests are written as JSONL (≤ 50,000 requests and ≤ 200 MB per file), uploaded, submitted, polled,
downloaded and ingested into the response cache. The ledger in the cache file remembers every uploaded
file *before* its batch is created and every batch id right after, so a process killed at any point is
resumed by the next run: open batches are collected, never submitted twice, and an upload whose batch
creation was interrupted is matched against the server's batch list before anything is re-created.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from unibind_core.knowledge.llm.cache import BatchRecord, ResponseCache
from unibind_core.knowledge.llm.describer import Answer, Persist, Request
from unibind_core.knowledge.llm.retry import LLMError, log

if TYPE_CHECKING:
    from unibind_core.knowledge.llm.openai_describer import OpenAIBackend

ENDPOINT = "/v1/chat/completions"
TERMINAL = ("completed", "failed", "expired", "cancelled")


class BatchPending(LLMError):
    """Batches are still running when the wait budget ends; a later run collects them (nothing is lost)."""


def split_jsonl(
    lines: Iterable[tuple[Request, bytes]], max_requests: int, max_bytes: int
) -> Iterator[list[tuple[Request, bytes]]]:
    """Consecutive groups of request lines, each within the per-file limits of the Batch API."""
    part: list[tuple[Request, bytes]] = []
    size = 0
    for request, line in lines:
        if len(line) > max_bytes:
            raise LLMError(
                f"one batch request of category {request.key.category!r} is {len(line)} bytes, over "
                f"the {max_bytes}-byte file limit"
            )
        if part and (len(part) == max_requests or size + len(line) > max_bytes):
            yield part
            part, size = [], 0
        part.append((request, line))
        size += len(line)
    if part:
        yield part


class BatchRunner:
    """Answers requests through Batch API jobs; see the module docstring for the resume protocol."""

    def __init__(self, backend: OpenAIBackend, cache: ResponseCache) -> None:
        self.backend, self.cache, self.config = backend, cache, backend.config
        self.client = backend.client

    def run(self, requests: Sequence[Request], persist: Persist) -> Iterator[Answer]:
        wanted = {r.key.digest: r for r in requests}
        records = [
            self._adopt(rec)
            for rec in self.cache.open_batches(self.backend.name, self.backend.model)
            if rec.keys.keys() & wanted.keys()
        ]
        in_flight = {d for rec in records for d in rec.keys}
        lines = ((r, self._line(r)) for r in requests if r.key.digest not in in_flight)
        records += [
            self._submit(part)
            for part in split_jsonl(lines, self.config.batch_max_requests, self.config.batch_max_bytes)
        ]
        seen: set[str] = set()
        for answer in self._collect(records, wanted, persist):
            seen.add(answer.request.key.digest)
            yield answer
        for digest, request in wanted.items():  # expired, cancelled or failed before answering
            if digest not in seen:
                yield Answer(request, failure="batch_unanswered")

    def _line(self, request: Request) -> bytes:
        body = {"custom_id": request.key.digest, "method": "POST", "url": ENDPOINT, "body": self.backend.body(request)}
        return (json.dumps(body, ensure_ascii=False) + "\n").encode("utf-8")

    def _submit(self, part: list[tuple[Request, bytes]]) -> BatchRecord:
        data = b"".join(line for _, line in part)
        uploaded = self.backend.call(
            lambda: self.client.files.create(
                file=("unibind-requests.jsonl", data, "application/jsonl"), purpose="batch"
            )
        )
        keys = [(r.key, r.attempt) for r, _ in part]
        self.cache.record_upload(uploaded.id, self.backend.name, self.backend.model, keys)
        return self._create(BatchRecord(uploaded.id, None, {k.digest: (k, a) for k, a in keys}))

    def _create(self, rec: BatchRecord, check_first: bool = False) -> BatchRecord:
        """Create the batch of an uploaded file. Creation is not idempotent: after a failed attempt (the
        server may have created it before the connection dropped) look for it before trying again."""
        attempts = [check_first]

        def create() -> object:
            if attempts[-1] and (found := self._find(rec.file_id)) is not None:
                return found
            attempts.append(True)
            return self.client.batches.create(
                input_file_id=rec.file_id, endpoint=ENDPOINT, completion_window="24h", metadata={"source": "unibind"}
            )

        batch = self.backend.call(create)
        self.cache.record_batch(rec.file_id, batch.id)
        return BatchRecord(rec.file_id, batch.id, rec.keys)

    def _find(self, file_id: str) -> object | None:
        for batch in self.client.batches.list(limit=100):  # auto-paginates, newest first
            if batch.input_file_id == file_id:
                return batch
        return None

    def _adopt(self, rec: BatchRecord) -> BatchRecord:
        """A ledger entry of an earlier process: its batch id, or the batch it created before dying."""
        return rec if rec.batch_id is not None else self._create(rec, check_first=True)

    def _collect(self, records: list[BatchRecord], wanted: dict[str, Request], persist: Persist) -> Iterator[Answer]:
        """Poll until every batch is terminal; ingest each one's output and error files as it finishes."""
        deadline = time.monotonic() + self.config.batch_max_wait_s
        waiting = {rec.batch_id: rec for rec in records}
        while waiting:
            for batch_id, rec in list(waiting.items()):
                batch = self.backend.call(lambda batch_id=batch_id: self.client.batches.retrieve(batch_id))
                if batch.status not in TERMINAL:
                    continue
                if batch.status != "completed":
                    errors = [e.message for e in (batch.errors.data or [])] if batch.errors else []
                    log.warning(
                        "batch %s ended %s (%s); its unanswered requests go in the next round",
                        batch_id,
                        batch.status,
                        "; ".join(str(e) for e in errors[:3]) or "no error given",
                    )
                for file_id in (batch.output_file_id, batch.error_file_id):
                    if file_id:
                        yield from self._ingest(file_id, rec, wanted, persist)
                self.cache.mark_done(rec.file_id)
                del waiting[batch_id]
            if waiting and time.monotonic() > deadline:
                raise BatchPending(
                    f"{len(waiting)} batches ({', '.join(sorted(waiting))}) still running after "
                    f"{self.config.batch_max_wait_s:.0f}s; they are remembered in "
                    f"{self.cache.path} and a later run collects them without re-sending"
                )
            if waiting:
                time.sleep(self.config.batch_poll_s)

    def _ingest(self, file_id: str, rec: BatchRecord, wanted: dict[str, Request], persist: Persist) -> Iterator[Answer]:
        """Every line of an output or error file; answers are persisted even if no longer wanted (paid)."""
        from unibind_core.knowledge.llm.openai_describer import reply_from_completion

        content = self.backend.call(lambda: self.client.files.content(file_id))
        for raw in content.text.splitlines():
            if not raw.strip():
                continue
            line = json.loads(raw)
            known = rec.keys.get(line.get("custom_id"))
            if known is None:
                continue
            request = Request(*known)  # the attempt this batch line answers
            response = line.get("response") or {}
            if response.get("status_code") == 200 and isinstance(response.get("body"), dict):
                reply = reply_from_completion(response["body"])
                persist(request, reply)
                answer = Answer(request, reply)
            else:
                answer = Answer(request, failure=f"batch_http_{response.get('status_code', 'error')}")
            if request.key.digest in wanted:
                yield answer
