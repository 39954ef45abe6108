"""The openai backend through the real `openai` client against a local OpenAI-compatible server."""

from __future__ import annotations

import threading
import time

import pytest
from fake_openai import PROMPT, Fault, default_answer
from llm_testing import CLASSES

from unibind_core.knowledge.kb import describe_categories
from unibind_core.knowledge.llm.retry import LLMError, QuotaExhausted


def _descriptions(describer, n=25):
    table, missing = describe_categories(describer, CLASSES, "photo", n, "d", "image")
    return table, missing


def _fault_first(make_fault, key=lambda call: (call.prompt, call.seed)):
    """A fault hook failing the first arrival of each `key` (by default: each request), answering the rest."""
    seen, lock = set(), threading.Lock()

    def fault(call):
        with lock:
            first = key(call) not in seen
            seen.add(key(call))
        return make_fault(call) if first else None

    return fault


def _half_shared(prompt, seed):
    """5 sentences every answer of a prompt shares, then 5 of its own: each chunk adds 5 new ones."""
    common = default_answer(prompt, 0).splitlines()[:5]
    own = default_answer(prompt, seed).splitlines()[5:]
    return "\n".join(common + own)


def test_normal_generation_gives_n_unique_descriptions_per_category_in_chunks(server, make_describer):
    describer = make_describer(server, concurrency=3, price_in_per_1m=2.0, price_out_per_1m=8.0)
    table, missing = _descriptions(describer)
    assert missing == {c.key: 0 for c in CLASSES}
    texts = table["Description"].to_pylist()
    assert len(texts) == 75 and len(set(texts)) == 75
    assert all(t.startswith("A photo of a dog") for t in texts[:25])
    assert {c.prompt for c in server.calls} == {
        f"Please generate 10 sentences related to this sentence <A photo of {a} {c.name}>"
        for a, c in zip(("a", "an", "an"), CLASSES)
    }
    assert len(server.calls) == 9  # ceil(25 / 10) chunks per category, no top-up needed
    assert server.max_in_flight <= 3
    report = describer.report()
    usage = [len(" ".join(m["content"] for m in c.body["messages"]).split()) for c in server.calls]
    assert report["tokens_in"] == sum(usage) and report["requests_sent"] == 9
    assert report["cost_usd_est"] == pytest.approx((report["tokens_in"] * 2 + report["tokens_out"] * 8) / 1e6, abs=1e-8)
    assert report["cache_hits"] == 0 and report["flagged"] == {}
    again = make_describer(server)  # a second run: everything from the cache, nothing sent
    assert _descriptions(again)[0]["Description"].to_pylist() == texts
    assert len(server.calls) == 9 and again.report()["cache_hit_ratio"] == 1.0


def test_duplicate_answers_are_removed_and_topped_up_until_n_unique(server, make_describer):
    server.answer = _half_shared
    describer = make_describer(server)
    table, missing = _descriptions(describer, n=25)
    per_cat = table.group_by("Category").aggregate([("Description", "count_distinct")]).to_pylist()
    assert {r["Description_count_distinct"] for r in per_cat} == {25} and sum(missing.values()) == 0
    assert len(server.calls) == 3 * (3 + 1)  # 3 chunks give 5 + 3 × 5 = 20 unique; one top-up chunk adds 5
    assert describer.report()["duplicates"] == 3 * 15  # 4 chunks × 10 sentences − 25 kept, per category


def test_a_category_that_cannot_reach_n_is_flagged_not_looped_forever(server, make_describer):
    server.answer = lambda prompt, seed: default_answer(prompt, 7)  # the same 10 sentences every time
    describer = make_describer(server)
    table, missing = _descriptions(describer, n=25)
    assert table.num_rows == 30 and missing == {c.key: 15 for c in CLASSES}
    assert set(describer.report()["flagged"]) == {c.key for c in CLASSES}
    assert "stalled at 10" in describer.report()["flagged"]["n001"]
    assert len(server.calls) == 3 * (3 + 2 + 2)  # two top-up rounds of ceil(15 / 10) chunks added nothing


def test_429_with_retry_after_is_honoured(server, make_describer):
    server.fault = _fault_first(
        lambda c: Fault(
            status=429,
            headers={"Retry-After": "0.3"},
            error={"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"},
        )
    )
    describer = make_describer(server, concurrency=9)
    start = time.perf_counter()
    table, _ = _descriptions(describer)
    assert table.num_rows == 75 and time.perf_counter() - start >= 0.3
    assert describer.report()["transport_retries"] == 9 and len(server.calls) == 18
    by_request = {}
    for call in server.calls:
        by_request.setdefault((call.prompt, call.seed), []).append(call.n)
    assert all(len(v) == 2 for v in by_request.values())


def test_500s_and_dropped_connections_are_retried(server, make_describer):
    server.fault = _fault_first(lambda c: Fault(status=500) if c.n % 2 else Fault(drop=True))
    describer = make_describer(server)
    table, _ = _descriptions(describer)
    assert table.num_rows == 75 and describer.report()["transport_retries"] == 9


def test_timeouts_are_retried(server, make_describer):
    server.fault = _fault_first(lambda c: Fault(delay_s=1.5) if c.n <= 2 else None)
    describer = make_describer(server, timeout_s=0.5)
    table, _ = _descriptions(describer)
    assert table.num_rows == 75 and describer.report()["transport_retries"] >= 2  # more only on a slow machine
    slow = {(c.prompt, c.seed) for c in server.calls[:2]}
    assert all(sum((c.prompt, c.seed) == k for c in server.calls) >= 2 for k in slow)


def test_persistent_server_errors_stop_the_run_after_bounded_retries(server, make_describer):
    server.fault = lambda c: Fault(status=503)
    describer = make_describer(server, max_retries=2, concurrency=1)
    with pytest.raises(LLMError, match="HTTP 503"):
        _descriptions(describer)
    assert len(server.calls) == 3  # one request, 1 + 2 retries; nothing else started


def test_malformed_empty_and_refusal_answers_are_retried_then_the_category_is_flagged(server, make_describer):
    owl = "an owl>"

    def fault(call):
        if owl in call.prompt:
            return Fault(content="I'm sorry, but I can't help with that.")
        if call.seed is not None and call.seed % 4 == 0:
            return Fault(content=["", "1.\n2.", "```\n```"][call.n % 3])  # empty or malformed: asked again
        return None

    server.fault = fault
    describer = make_describer(server, max_bad_answers=3)
    table, missing = _descriptions(describer)
    report = describer.report()
    assert missing["n001"] == missing["n003"] == 0 and missing["n002"] == 25
    assert set(report["flagged"]) == {"n002"} and report["flagged"]["n002"].startswith("refusal: 3 unusable")
    owl_calls = [c for c in server.calls if owl in c.prompt]
    assert len(owl_calls) == 3 * 3  # each of its 3 chunks asked max_bad_answers times, then given up
    assert report["bad_answers"]["refusal"] == 9


def test_the_refusal_field_and_content_filter_are_refusals(server, make_describer):
    server.fault = _fault_first(
        lambda c: Fault(content="", refusal="I can't help with that."), key=lambda call: call.prompt
    )  # the first answer to each category
    describer = make_describer(server)
    table, _ = _descriptions(describer)
    assert table.num_rows == 75 and describer.report()["bad_answers"] == {"refusal": 3}


def test_insufficient_quota_stops_cleanly_and_keeps_what_was_answered(server, make_describer, tmp_path):
    quota = Fault(
        status=429,
        error={
            "message": "You exceeded your current quota, please check your plan.",
            "type": "insufficient_quota",
            "code": "insufficient_quota",
        },
    )
    server.fault = lambda c: quota if c.n > 4 else None
    describer = make_describer(server, concurrency=2)
    with pytest.raises(QuotaExhausted, match="no quota left.*re-materialize"):
        _descriptions(describer)
    assert len(server.answered) == 4 and describer.cache.count() == 4  # every answer received was kept
    refused = [c for c in server.calls if c.n > 4]
    assert 1 <= len(refused) <= 2  # never retried: at most the requests already in flight
    server.fault = None
    resumed = make_describer(server)
    table, _ = _descriptions(resumed)
    assert table.num_rows == 75 and resumed.report()["cache_hits"] == 4
    assert not {(c.prompt, c.seed) for c in server.answered[:4]} & {(c.prompt, c.seed) for c in server.calls[-5:]}


def test_prompt_wording_follows_the_modality(server, make_describer):
    describer = make_describer(server)
    describe_categories(describer, CLASSES[:1], "sound", 5, "d", "audio")
    assert PROMPT.search(server.calls[0].prompt).group(2) == "A sound of a dog"


def test_a_restart_never_asks_a_refused_attempt_again(server, make_describer):
    server.fault = lambda c: Fault(content="I'm sorry, I can't do that.") if "an owl>" in c.prompt else None
    _descriptions(make_describer(server, max_bad_answers=2))  # the owl: 3 chunks × 2 refused attempts
    asked = {(c.prompt, c.seed) for c in server.calls}
    server.calls.clear()
    again = make_describer(server, max_bad_answers=2)
    _descriptions(again)
    assert server.calls == [] and again.report()["flagged"]["n002"].startswith("refusal")  # from the cache
    server.fault = None
    more = make_describer(server, max_bad_answers=3)  # a larger budget asks only the next attempt
    table, missing = _descriptions(more)
    assert missing["n002"] == 0 and len(server.calls) == 3
    assert not {(c.prompt, c.seed) for c in server.calls} & asked
