"""Category descriptions from the OpenAI API or any OpenAI-compatible server (vLLM, Ollama, llama.cpp).

Chat Completions through the official `openai` client, with our own retries (the client's are off) so
429s, 5xx and timeouts are counted and `insufficient_quota` stops the run at once. The API key comes from
the config (a Dagster EnvVar) or OPENAI_API_KEY and is scrubbed from every message this module raises.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any

import openai

from unibind_core.core.errors import ConfigError
from unibind_core.knowledge.llm.cache import Reply, ResponseCache
from unibind_core.knowledge.llm.config import LLMConfig, strip_userinfo
from unibind_core.knowledge.llm.describer import SYSTEM_PROMPT, Answer, LLMDescriber, Persist, Request
from unibind_core.knowledge.llm.retry import (
    Backoff,
    LLMError,
    QuotaExhausted,
    Stopped,
    call_with_retry,
    retry_after_seconds,
)
from unibind_core.knowledge.llm.stats import Accounting

if TYPE_CHECKING:
    from unibind_core.core.settings import Settings

DEFAULT_MODEL = "gpt-4o-mini"
_KEY_LIKE = re.compile(r"\b(sk|key|token)[-_][A-Za-z0-9_\-]{6,}")


def redact(text: str, secrets: Sequence[str]) -> str:
    """`text` without the given secrets nor anything shaped like an API key."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _KEY_LIKE.sub(lambda m: f"{m.group(1)}-***", text)


def is_quota_error(exc: Exception) -> bool:
    return isinstance(exc, openai.RateLimitError) and "insufficient_quota" in (exc.code or "", exc.type or "")


def connection_refused(exc: BaseException) -> bool:
    """Nothing listens at the endpoint (as opposed to a timeout or a dropped connection)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError) or "connection refused" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def transient_wait(exc: Exception) -> float | None:
    """Seconds the server asked us to wait if `exc` is worth retrying (429, 5xx, timeout), else None.
    A refused connection is not retried: no server is there, and waiting minutes will not start one."""
    if is_quota_error(exc) or connection_refused(exc):
        return None
    if isinstance(exc, (openai.RateLimitError, openai.InternalServerError)):
        return retry_after_seconds(exc.response.headers) or 0.0
    if isinstance(exc, openai.APIStatusError) and exc.status_code in (408, 409):
        return retry_after_seconds(exc.response.headers) or 0.0
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return 0.0
    return None


class EndpointUnreachable(LLMError, ConfigError):
    """Nothing answers at the configured URL: a configuration problem, so Dagster does not retry it."""


def translate(exc: Exception, secrets: Sequence[str], endpoint: str = "") -> LLMError:
    """A safe, actionable error for a failure that will not be retried."""
    if connection_refused(exc):
        return EndpointUnreachable(
            f"cannot connect to the LLM endpoint {endpoint} (connection refused): is the "
            "server running, and is llm.base_url (or OPENAI_BASE_URL) right?"
        )
    if is_quota_error(exc):
        return QuotaExhausted(
            "the OpenAI account has no quota left (HTTP 429 insufficient_quota): add credit or "
            "raise the limit, then re-materialize; every answer received so far is cached"
        )
    what = f"HTTP {exc.status_code}" if isinstance(exc, openai.APIStatusError) else type(exc).__name__
    message = getattr(exc, "message", None) or str(exc)
    return LLMError(redact(f"LLM request failed ({what}): {message}", secrets))


def reply_from_completion(completion: Any) -> Reply:
    """A `Reply` from a chat completion (the client's object, or the dict of a Batch API output line)."""
    data = completion if isinstance(completion, dict) else completion.model_dump()
    choice = (data.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    usage = data.get("usage") or {}
    return Reply(
        text=message.get("content") or "",
        tokens_in=usage.get("prompt_tokens") or 0,
        tokens_out=usage.get("completion_tokens") or 0,
        finish_reason=choice.get("finish_reason"),
        refusal=message.get("refusal"),
    )


class OpenAIBackend:
    """Chat Completions, concurrently from a thread pool (mode "sync"), or the Batch API (mode "batch")."""

    name = "openai"

    def __init__(self, config: LLMConfig, stats: Accounting, cache: ResponseCache) -> None:
        self.config, self.stats, self.cache = config, stats, cache
        self.model = config.model or DEFAULT_MODEL
        base_url = config.base_url or os.environ.get("OPENAI_BASE_URL") or None
        key = config.api_key.reveal() if config.api_key else os.environ.get("OPENAI_API_KEY", "")
        if not key and not base_url:
            raise LLMError(
                "the openai describer needs an API key: set OPENAI_API_KEY (or the resource's "
                "llm.api_key, e.g. dg.EnvVar('OPENAI_API_KEY')), or a base_url of a local server"
            )
        self._secrets = (key,)
        self._official = base_url is None
        self.client = openai.OpenAI(api_key=key or "unused", base_url=base_url, timeout=config.timeout_s, max_retries=0)
        self.price_factor = config.batch_price_factor if config.mode == "batch" else 1.0
        self._backoff = Backoff(config.max_retries, config.backoff_base_s, config.backoff_max_s)

    def body(self, request: Request) -> dict:
        """The Chat Completions request body (shared by both modes, so their answers are interchangeable)."""
        # api.openai.com's newer models take only max_completion_tokens; compatible servers know max_tokens.
        length = "max_completion_tokens" if self._official else "max_tokens"
        return {
            "model": self.model,
            "messages": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": request.key.prompt}],
            "temperature": self.config.temperature,
            length: self.config.max_tokens,
            "seed": request.seed,
        }

    def call(self, fn: Any, stop: threading.Event | None = None) -> Any:
        """`fn()` with retries; failures come out as `LLMError`s free of secrets (and of the request)."""
        error: LLMError | None = None
        try:
            return call_with_retry(
                fn, self._backoff, transient_wait, stop, on_retry=lambda _: self.stats.add(transport_retries=1)
            )
        except openai.OpenAIError as exc:
            error = translate(exc, self._secrets, strip_userinfo(str(self.client.base_url)) or "")
        raise error  # outside the except block: no chained exception carries the request's headers

    def run(self, requests: Sequence[Request], persist: Persist) -> Iterator[Answer]:
        if self.config.mode == "batch":
            from unibind_core.knowledge.llm.batch import BatchRunner

            yield from BatchRunner(self, self.cache).run(requests, persist)
        else:
            yield from self._run_sync(requests, persist)

    def _run_sync(self, requests: Sequence[Request], persist: Persist) -> Iterator[Answer]:
        stop = threading.Event()
        pool = ThreadPoolExecutor(self.config.concurrency, thread_name_prefix="unibind-llm")
        futures = [pool.submit(self._one, r, persist, stop) for r in requests]
        try:
            for future in as_completed(futures):
                error = future.exception()
                if error is None:
                    yield future.result()
                elif not isinstance(error, Stopped):  # the cause, not a request that merely gave up after it
                    raise error
        finally:  # on error or abandonment: start nothing new; running requests still persist their answers
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)

    def _one(self, request: Request, persist: Persist, stop: threading.Event) -> Answer:
        try:
            completion = self.call(lambda: self.client.chat.completions.create(**self.body(request)), stop)
        except LLMError:
            stop.set()  # at once, from this thread: no queued request may start after a fatal error
            raise
        reply = reply_from_completion(completion)
        persist(request, reply)
        return Answer(request, reply)


class OpenAIDescriber(LLMDescriber):
    """`DESCRIBERS["openai"]`: the LLM describer over `OpenAIBackend`, cached under the data root."""

    @classmethod
    def from_settings(cls, s: Settings) -> OpenAIDescriber:
        cfg = s.llm
        stats = Accounting(cfg.price_in_per_1m, cfg.price_out_per_1m)
        cache = ResponseCache(s.layout.llm_cache)
        return cls(OpenAIBackend(cfg, stats, cache), cache, cfg, stats)
