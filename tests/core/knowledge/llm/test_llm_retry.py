"""Backoff: exponential with jitter, capped, never sooner than the server's Retry-After."""

from __future__ import annotations

import email.utils
import random
import time

import pytest

from unibind_core.knowledge.llm.retry import Backoff, call_with_retry, retry_after_seconds


def test_delays_grow_exponentially_with_jitter_and_are_capped():
    policy, rng = Backoff(max_retries=10, base_s=1.0, max_s=8.0), random.Random(0)
    delays = [[policy.delay(a, None, rng) for a in range(6)] for _ in range(50)]
    for a, step in enumerate([1, 2, 4, 8, 8, 8]):
        col = [d[a] for d in delays]
        assert step / 2 <= min(col) and max(col) <= step
        assert len(set(col)) > 40  # jittered, so concurrent retries spread out
    assert policy.delay(0, 30.0, rng) == 30.0  # Retry-After is a floor


def test_retry_after_in_seconds_milliseconds_and_http_dates():
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    date = email.utils.formatdate(time.time() + 5, usegmt=True)
    assert 3.5 < retry_after_seconds({"retry-after": date}) <= 5.0
    assert retry_after_seconds({}) is None and retry_after_seconds(None) is None


def test_transient_errors_are_retried_and_others_raised_at_once():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise TimeoutError("slow")
        return "ok"

    fast = Backoff(max_retries=5, base_s=0.001, max_s=0.002)

    def transient(e: BaseException) -> float | None:
        return 0.0 if isinstance(e, TimeoutError) else None

    assert call_with_retry(flaky, fast, transient) == "ok" and len(calls) == 3
    with pytest.raises(ValueError):
        call_with_retry(lambda: (_ for _ in ()).throw(ValueError("bad request")), fast, transient)
    calls.clear()
    with pytest.raises(TimeoutError):  # retries exhausted: the last error propagates
        call_with_retry(lambda: (calls.append(1), (_ for _ in ()).throw(TimeoutError()))[1], fast, transient)
    assert len(calls) == 6
