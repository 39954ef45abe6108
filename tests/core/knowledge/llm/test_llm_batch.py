"""The Batch API mode against the fake server's /v1/files and /v1/batches, shaped as the real API."""

from __future__ import annotations

import json

import pytest
from fake_openai import Fault
from llm_testing import CLASSES

from unibind_core.knowledge.kb import describe_categories
from unibind_core.knowledge.llm.batch import BatchPending, split_jsonl
from unibind_core.knowledge.llm.cache import RequestKey
from unibind_core.knowledge.llm.describer import Request
from unibind_core.knowledge.llm.retry import LLMError


def _describe(describer, n=25):
    return describe_categories(describer, CLASSES, "photo", n, "d", "image")


def test_batch_mode_submits_polls_downloads_and_ingests(server, make_describer, tmp_path):
    describer = make_describer(server, mode="batch", batch_max_requests=4, price_in_per_1m=1.0, price_out_per_1m=1.0)
    table, missing = _describe(describer)
    assert table.num_rows == 75 and sum(missing.values()) == 0
    lines = server.batch_requests()
    assert len(lines) == 9 and len({x["custom_id"] for x in lines}) == 9  # each request submitted once
    assert len(server.batches) == 3  # 9 requests in files of at most 4
    assert all(
        x["method"] == "POST" and x["url"] == "/v1/chat/completions" and x["body"]["model"] == "fake-gpt" for x in lines
    )
    assert all(f["purpose"] in ("batch", "batch_output") for f in server.files.values())
    assert all(b["completion_window"] == "24h" and b["status"] == "completed" for b in server.batches.values())
    assert not [c for c in server.calls if c.authorization != "batch"]  # nothing went through sync chat
    report = describer.report()
    assert report["cost_usd_est"] == pytest.approx(0.5 * (report["tokens_in"] + report["tokens_out"]) / 1e6, abs=1e-8)
    sync = make_describer(server, root=tmp_path / "sync")  # same requests, same answers, any mode
    assert _describe(sync)[0]["Description"].to_pylist() == table["Description"].to_pylist()


def test_files_respect_the_request_and_byte_limits():
    request = Request(RequestKey("openai", "m", "p", "c", 0))
    lines = [(request, b"x" * 40 + b"\n")] * 10
    parts = list(split_jsonl(lines, max_requests=4, max_bytes=100))
    assert [len(p) for p in parts] == [2, 2, 2, 2, 2]  # 3 lines would be 123 bytes
    assert all(sum(len(b) for _, b in p) <= 100 for p in parts)
    assert [len(p) for p in split_jsonl(lines, max_requests=3, max_bytes=10**6)] == [3, 3, 3, 1]
    with pytest.raises(LLMError, match="over the 10-byte file limit"):
        list(split_jsonl(lines, max_requests=3, max_bytes=10))


def test_error_lines_are_asked_again_in_the_next_batch(server, make_describer):
    failed = set()

    def fault(call):
        if call.seed % 3 == 0 and call.seed not in failed:
            failed.add(call.seed)
            return Fault(status=500, error={"message": "internal", "type": "server_error"})
        return None

    server.fault = fault
    describer = make_describer(server, mode="batch")
    table, _ = _describe(describer)
    assert table.num_rows == 75 and failed
    assert describer.report()["bad_answers"] == {"batch_http_500": len(failed)}
    assert len(server.batch_requests()) == 9 + len(failed)


def test_a_run_stopped_while_batches_run_is_collected_by_the_next_one_without_resubmitting(server, make_describer):
    server.hold_new_batches = True
    with pytest.raises(BatchPending, match="a later run collects them"):
        _describe(make_describer(server, mode="batch", batch_max_wait_s=0.05))
    submitted = list(server.batches)
    assert len(submitted) == 1 and not any(c.authorization == "batch" for c in server.calls)
    server.hold_new_batches = False
    server.batch_holds.clear()  # the batch finishes while no process is watching
    resumed = make_describer(server, mode="batch")  # a new process: only the ledger remembers the batch
    table, _ = _describe(resumed)
    assert table.num_rows == 75 and list(server.batches) == submitted  # collected, nothing new submitted
    assert len({x["custom_id"] for x in server.batch_requests()}) == len(server.batch_requests()) == 9


def test_a_batch_created_just_before_the_connection_dropped_is_found_not_created_twice(server, make_describer):
    server.fail_after_batch_create = True  # the server creates the batch; the client never hears of it
    table, _ = _describe(make_describer(server, mode="batch"))
    assert table.num_rows == 75 and len(server.batches) == 1


def test_a_process_that_died_between_upload_and_batch_creation_is_resumed_from_the_ledger(server, make_describer):
    server.fail_after_batch_create = True
    with pytest.raises(LLMError):  # no retries: the process "dies" right after the upload and the create
        _describe(make_describer(server, mode="batch", max_retries=0))
    assert len(server.batches) == 1
    table, _ = _describe(make_describer(server, mode="batch"))
    assert table.num_rows == 75 and len(server.batches) == 1
    assert len(server.batch_requests()) == 9
    assert json.loads(json.dumps(server.batch_requests()))  # well-formed JSONL throughout


def test_an_expired_batch_is_submitted_again(server, make_describer, caplog):
    server.expire_batches = 1
    describer = make_describer(server, mode="batch")
    table, _ = _describe(describer)
    assert table.num_rows == 75 and [b["status"] for b in server.batches.values()] == ["expired", "completed"]
    assert describer.report()["bad_answers"] == {"batch_unanswered": 9} and "ended expired" in caplog.text
