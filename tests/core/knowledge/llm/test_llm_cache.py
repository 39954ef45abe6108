"""The response cache: one row per request whatever happens, WAL mode, safe from many threads."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor

from unibind_core.knowledge.llm.cache import Reply, RequestKey, ResponseCache


def _key(chunk: int, category: str = "n001") -> RequestKey:
    return RequestKey(
        "openai", "m", "Please generate 10 sentences related to this sentence <A photo of a dog>", category, chunk
    )


def test_answers_round_trip_and_a_request_keeps_exactly_one_row(tmp_path):
    cache = ResponseCache(tmp_path / "r.sqlite")
    cache.put(_key(0), Reply("I'm sorry", 10, 3, "stop"), attempt=0)
    cache.put(_key(0), Reply("1. again", 10, 4, "stop"), attempt=1)  # its retry: still one row, the latest
    assert cache.get([_key(0), _key(1)]) == {_key(0).digest: (Reply("1. again", 10, 4, "stop"), 1)}
    assert cache.count() == 1
    assert _key(0).digest != _key(0, "n002").digest != _key(1).digest


def test_the_cache_file_is_in_wal_mode_and_readable_by_another_connection(tmp_path):
    cache = ResponseCache(tmp_path / "r.sqlite")
    cache.put(_key(0), Reply("1. a", 1, 1))
    other = sqlite3.connect(tmp_path / "r.sqlite")
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert other.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 1  # committed, not buffered


def test_concurrent_writers_lose_nothing(tmp_path):
    cache = ResponseCache(tmp_path / "r.sqlite")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: cache.put(_key(i), Reply(f"1. answer {i}", i, i)), range(400)))
    got = cache.get(_key(i) for i in range(400))
    assert len(got) == 400 and got[_key(123).digest][0].text == "1. answer 123"
    assert len(ResponseCache(tmp_path / "r.sqlite").get(_key(i) for i in range(400))) == 400  # reopened


def test_the_batch_ledger_remembers_uploads_batches_and_completion(tmp_path):
    cache = ResponseCache(tmp_path / "r.sqlite")
    keys = [(_key(i), i % 2) for i in range(3)]
    cache.record_upload("file-1", "openai", "m", keys)
    [rec] = ResponseCache(tmp_path / "r.sqlite").open_batches("openai", "m")
    assert rec.batch_id is None and rec.keys == {k.digest: (k, a) for k, a in keys}
    cache.record_batch("file-1", "batch-1")
    assert cache.open_batches("openai", "m")[0].batch_id == "batch-1"
    assert cache.open_batches("openai", "other-model") == []
    cache.mark_done("file-1")
    assert cache.open_batches("openai", "m") == []
