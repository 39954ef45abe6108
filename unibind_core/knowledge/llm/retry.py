"""Retries of transient API failures: exponential backoff with jitter, never sooner than `Retry-After`.

Jitter spreads the retries of many concurrent requests that failed together (a 429 burst), so they do
not all come back in the same instant. The classification of errors is the backend's (see
openai_describer.py); this module only decides when to try again.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger("unibind.llm")


class LLMError(RuntimeError):
    """A failure that stops the describer; its message is safe to show (no secrets)."""


class QuotaExhausted(LLMError):
    """The account is out of credit (HTTP 429 insufficient_quota): retrying cannot help."""


class Stopped(LLMError):
    """Another request failed fatally; this one gave up waiting."""


@dataclass(frozen=True)
class Backoff:
    max_retries: int = 6
    base_s: float = 1.0
    max_s: float = 60.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds before retry `attempt` (0-based): half-jittered exponential step, floored by Retry-After."""
        step = min(self.max_s, self.base_s * 2**attempt)
        return max(rng.uniform(step / 2, step), retry_after or 0.0)


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """The server's `retry-after-ms` / `Retry-After` (seconds or an HTTP date) hint, if any."""
    if not headers:
        return None
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value) if value.strip() else None
        return max(0.0, when.timestamp() - time.time()) if when else None


def call_with_retry(
    fn: Callable[[], T],
    policy: Backoff,
    transient: Callable[[Exception], float | None],
    stop: threading.Event | None = None,
    on_retry: Callable[[Exception], None] | None = None,
    rng: random.Random | None = None,
) -> T:
    """`fn()`, retried while `transient(exc)` returns a wait hint (seconds, 0 for none); other errors and
    the last transient one propagate. A set `stop` event interrupts the wait."""
    rng = rng or random.Random()
    for attempt in range(policy.max_retries + 1):
        if stop is not None and stop.is_set():
            raise Stopped("stopped: another request failed")
        try:
            return fn()
        except Exception as exc:
            hint = transient(exc)
            if hint is None or attempt == policy.max_retries:
                raise
            wait = policy.delay(attempt, hint, rng)
            log.warning(
                "transient LLM API failure (%s); retry %d/%d in %.2fs",
                type(exc).__name__,
                attempt + 1,
                policy.max_retries,
                wait,
            )
            if on_retry is not None:
                on_retry(exc)
            if stop is None:
                time.sleep(wait)
            elif stop.wait(wait):
                raise Stopped("stopped: another request failed") from None
    raise AssertionError("unreachable")
