"""The chunked generation loop every LLM backend shares (docs/method.md §1: N unique descriptions per category).

Per category, requests ask for `chunk_size` sentences with the paper prompt; answers are parsed, fitted
to the CLIP limit and deduplicated in chunk order, and top-up rounds ask for more until N are unique.
Every round sends the requests of all categories together, so a backend can run them concurrently.
A request is identified by (backend, model, prompt, category, chunk index): answered ones come from the
response cache, so a restarted run asks only what was never answered, and the result is the same.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from unibind_core.core.progress import Tracker
from unibind_core.data.benchmarks.manifest import ClassInfo
from unibind_core.knowledge.describe import Description, paper_prompt
from unibind_core.knowledge.llm.cache import Reply, RequestKey, ResponseCache
from unibind_core.knowledge.llm.config import LLMConfig
from unibind_core.knowledge.llm.parse import Judgement, judge, normalize
from unibind_core.knowledge.llm.stats import Accounting
from unibind_core.storage.io import content_hash

# [ours] The paper prompt alone; this system line only asks for a parseable shape.
SYSTEM_PROMPT = "Answer with a numbered list, one sentence per line, and nothing else."
STALL_ROUNDS = 2  # [ours] one idle top-up round can be bad luck; two in a row mean the model is exhausted


@dataclass(frozen=True)
class Request:
    key: RequestKey
    attempt: int = 0  # how many usable answers this request failed to get before

    @property
    def seed(self) -> int:
        """Distinct per chunk and attempt, so a retried or top-up request is a new sample, reproducibly."""
        return int(content_hash(self.key.digest, str(self.attempt))[:8], 16)


@dataclass(frozen=True)
class Answer:
    """What a backend got for one request: a reply, or why there is none (e.g. a Batch API error line)."""

    request: Request
    reply: Reply | None = None
    failure: str | None = None


@dataclass(frozen=True)
class Outcome:
    request: Request
    judgement: Judgement


Persist = Callable[[Request, Reply], None]


class Backend(Protocol):
    name: str  # part of every cache key: "openai", "hf"
    model: str
    price_factor: float  # 0.5 for the Batch API's half price, else 1

    def run(self, requests: Sequence[Request], persist: Persist) -> Iterator[Answer]:
        """Answer `requests` in any order. Each reply goes to `persist` in the thread that received it, the
        moment it arrives, then is yielded. Raises `LLMError` to stop the run."""
        ...


@dataclass
class _Category:
    info: ClassInfo
    prompt: str
    answers: dict[int, tuple[str, ...]] = field(default_factory=dict)  # chunk -> usable sentences
    bad: dict[int, int] = field(default_factory=dict)  # chunk -> unusable answers so far (not yet answered)
    next_chunk: int = 0
    idle_rounds: int = 0  # consecutive rounds that added no unique description
    flag: str | None = None
    _unique: list[str] | None = field(default=None, repr=False)  # memo of unique(), reset by add()

    def add(self, chunk: int, sentences: tuple[str, ...]) -> None:
        self.answers[chunk] = sentences
        self._unique = None

    def unique(self) -> list[str]:
        """Distinct sentences (by normalized text) in chunk order: the same list whatever the arrival order."""
        if self._unique is None:
            seen: dict[str, str] = {}
            for chunk in sorted(self.answers):
                for s in self.answers[chunk]:
                    seen.setdefault(normalize(s), s)
            self._unique = list(seen.values())
        return self._unique

    def requests(self, n: int, chunk_size: int, backend: str, model: str) -> list[Request]:
        if self.flag is not None:
            return []
        missing = n - len(self.unique())
        if missing <= 0:
            return []
        retries = [Request(self._key(c, backend, model), a) for c, a in sorted(self.bad.items())]
        fresh = max(0, math.ceil(missing / chunk_size) - len(retries))
        chunks = range(self.next_chunk, self.next_chunk + fresh)
        self.next_chunk += fresh
        return retries + [Request(self._key(c, backend, model)) for c in chunks]

    def _key(self, chunk: int, backend: str, model: str) -> RequestKey:
        return RequestKey(backend, model, self.prompt, self.info.key, chunk)


class LLMDescriber:
    """A `Describer` over any `Backend`: chunks, cache, dedup, flags and accounting (see module docstring)."""

    def __init__(self, backend: Backend, cache: ResponseCache, config: LLMConfig, stats: Accounting) -> None:
        self.backend, self.cache, self.config, self.stats = backend, cache, config, stats
        self.source = f"llm:{backend.model.rstrip('/').rsplit('/', 1)[-1]}"

    def describe(self, category: ClassInfo, noun: str, n: int) -> list[Description]:
        return self.describe_many([category], noun, n)[category.key]

    def describe_many(self, categories: Sequence[ClassInfo], noun: str, n: int) -> dict[str, list[Description]]:
        """Up to `n` unique descriptions per category; categories that fall short are in `report()["flagged"]`."""
        size = self.config.chunk_size
        states = {c.key: _Category(c, paper_prompt(size, noun, c.name)) for c in categories}
        for _ in range(self.config.max_rounds):
            requests = [r for s in states.values() for r in s.requests(n, size, self.backend.name, self.backend.model)]
            if not requests:
                break
            before = {k: len(s.unique()) for k, s in states.items()}
            for outcome in self._answer(requests):
                self._ingest(states[outcome.request.key.category], outcome)
            for key, s in states.items():
                self._note_progress(s, before[key], n)
        for key, s in states.items():
            have = len(s.unique())
            self.stats.add(duplicates=sum(map(len, s.answers.values())) - have)
            if s.flag is None and have < n:
                s.flag = f"short: {have} unique descriptions of {n} after {self.config.max_rounds} rounds"
            if s.flag is not None:
                self.stats.flagged[key] = s.flag
        return {k: [Description(t, s.prompt) for t in s.unique()[:n]] for k, s in states.items()}

    def report(self) -> dict:
        return {
            "backend": self.backend.name,
            "model": self.backend.model,
            **self.stats.report(),
            "llm_options": self.config.public(),
            "system_prompt": SYSTEM_PROMPT,
        }

    def _answer(self, requests: list[Request]) -> Iterator[Outcome]:
        """Stored answers first (no request), then the backend for the rest. A stored unusable answer counts
        as the attempt it answered, so the next attempt (a new seed) is asked, never the same one again.
        Answers are judged here, in the consuming thread: parsing is CPU work that would only contend for
        the GIL in the I/O threads of a backend."""
        stored = self.cache.get(r.key for r in requests)
        missing = []
        for r in requests:
            reply, attempt = stored.get(r.key.digest, (None, -1))
            if reply is None or attempt < r.attempt:  # never answered, or only an earlier attempt
                missing.append(r)
                continue
            self.stats.add(cache_hits=1)
            yield Outcome(Request(r.key, attempt), judge(reply))
        if not missing:
            return
        answered = Tracker(f"describe via {self.backend.name}", len(missing), unit="request")
        for answer in self.backend.run(missing, self.persist):
            answered.advance(tokens_out=self.stats.tokens_out, cost_usd=round(self.stats.cost_usd, 6))
            verdict = judge(answer.reply) if answer.reply is not None else Judgement(reason=answer.failure)
            if verdict.reason is not None:
                self.stats.add_bad(verdict.reason)
            yield Outcome(answer.request, verdict)

    def persist(self, request: Request, reply: Reply) -> None:
        """Store one fresh answer the moment it arrives, usable or not, before anything counts it: an
        unusable one is read back as that attempt's answer, so the next attempt is asked instead."""
        self.cache.put(request.key, reply, request.attempt)
        self.stats.add_answer(reply.tokens_in, reply.tokens_out, self.backend.price_factor)

    @staticmethod
    def _note_progress(state: _Category, before: int, n: int) -> None:
        """Two rounds in a row without a new description: the model has nothing new to say; stop paying."""
        have = len(state.unique())
        if state.flag is not None or have >= n or state.bad:
            return
        state.idle_rounds = state.idle_rounds + 1 if have == before else 0
        if state.idle_rounds >= STALL_ROUNDS:
            state.flag = f"stalled at {have} unique descriptions of {n}"

    def _ingest(self, state: _Category, outcome: Outcome) -> None:
        chunk, verdict = outcome.request.key.chunk, outcome.judgement
        if verdict.reason is not None:
            state.bad[chunk] = outcome.request.attempt + 1
            if state.bad[chunk] >= self.config.max_bad_answers:
                state.flag = f"{verdict.reason}: {state.bad[chunk]} unusable answers to chunk {chunk}"
            return
        state.bad.pop(chunk, None)
        self.stats.add(shortened=verdict.shortened, dropped_over_long=verdict.dropped_over_long)
        state.add(chunk, verdict.sentences)
