"""What an LLM run did and cost, for the asset metadata (issue 3: requests, tokens, cost, cache, flags)."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Accounting:
    """Counters shared by the worker threads; `report()` is the plain dict that goes into metadata."""

    price_in_per_1m: float = 0.0
    price_out_per_1m: float = 0.0
    requests_sent: int = 0  # answers received from the backend in this run (each one is billed)
    cache_hits: int = 0  # requests answered by the response cache (billed by an earlier run)
    transport_retries: int = 0  # 429 / 5xx / timeout retries
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    bad_answers: Counter = field(default_factory=Counter)  # reason -> count (refusal, empty, malformed...)
    shortened: int = 0  # descriptions cut at a sentence/clause boundary to fit CLIP's 75 tokens
    dropped_over_long: int = 0  # descriptions with no boundary that fits: dropped
    duplicates: int = 0  # descriptions whose normalized text was already kept for the category
    flagged: dict[str, str] = field(default_factory=dict)  # category key -> why it is short or empty
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_answer(self, tokens_in: int, tokens_out: int, price_factor: float = 1.0) -> None:
        with self._lock:
            self.requests_sent += 1
            self.tokens_in += tokens_in
            self.tokens_out += tokens_out
            self.cost_usd += (
                price_factor * (tokens_in * self.price_in_per_1m + tokens_out * self.price_out_per_1m) / 1e6
            )

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def add_bad(self, reason: str) -> None:
        with self._lock:
            self.bad_answers[reason] += 1

    def report(self) -> dict:
        answered = self.requests_sent + self.cache_hits
        return {
            "requests_sent": self.requests_sent,
            "cache_hits": self.cache_hits,
            "cache_hit_ratio": round(self.cache_hits / answered, 4) if answered else 0.0,
            "transport_retries": self.transport_retries,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost_usd_est": round(self.cost_usd, 8),
            "price_per_1m_tokens": {"input": self.price_in_per_1m, "output": self.price_out_per_1m},
            "bad_answers": dict(self.bad_answers),
            "shortened": self.shortened,
            "dropped_over_long": self.dropped_over_long,
            "duplicates": self.duplicates,
            "flagged": dict(sorted(self.flagged.items())),
        }
