"""`CAPTIONERS["openai_vision"]`: any OpenAI-compatible chat server that takes images (vLLM serving LLaVA or
Qwen-VL, OpenAI's vision models), through the official `openai` client.

The describers' resilience, reused from unibind_core/knowledge/llm: every answer is committed to the SQLite
response cache by the thread that received it before anything counts it (a killed run re-pays nothing),
429 / 5xx / timeouts are retried honouring Retry-After, `insufficient_quota` stops the run cleanly,
`llm.concurrency` requests are in flight, tokens and cost are counted, and the key never appears in a
message. Several images of one sample (video keyframes, point views) go in one request; sounds go as
`input_audio` to models that take audio (`caption.openai_audio`), else as spectrogram images.
"""

from __future__ import annotations

import base64
import io
import os
import threading
import wave
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING

import numpy as np
import openai

from unibind_core.knowledge.captioners.base import CaptionRequest, ModelInfo
from unibind_core.knowledge.captioners.driver import CachedCaptioner
from unibind_core.knowledge.llm.cache import Reply, RequestKey, ResponseCache
from unibind_core.knowledge.llm.config import LLMConfig, strip_userinfo
from unibind_core.knowledge.llm.openai_describer import (
    reply_from_completion,
    transient_wait,
    translate,
)
from unibind_core.knowledge.llm.retry import Backoff, LLMError, Stopped, call_with_retry
from unibind_core.knowledge.llm.stats import Accounting

if TYPE_CHECKING:
    from PIL import Image

    from unibind_core.core.settings import Settings

DEFAULT_MODEL = "gpt-4o-mini"
MAX_IMAGES = 8  # images per request; more views than this are tiled into a mosaic


def image_part(image: Image.Image) -> dict:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()},
    }


def audio_part(audio: np.ndarray, sample_rate: int) -> dict:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(sample_rate)
        w.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return {"type": "input_audio", "input_audio": {"data": base64.b64encode(buf.getvalue()).decode(), "format": "wav"}}


class OpenAIVisionModel:
    name = "openai_vision"

    def __init__(
        self,
        config: LLMConfig,
        model: str,
        cache: ResponseCache,
        max_new_tokens: int = 60,
        accepts_audio: bool = False,
        temperature: float = 0.7,
    ) -> None:
        self.config, self.model, self.cache = config, model, cache
        self.max_new_tokens, self.temperature = max_new_tokens, temperature
        self.batch_size = max(1, config.concurrency) * 4
        self.stats = Accounting(config.price_in_per_1m, config.price_out_per_1m)
        base_url = config.base_url or os.environ.get("OPENAI_BASE_URL") or None
        key = config.api_key.reveal() if config.api_key else os.environ.get("OPENAI_API_KEY", "")
        if not key and not base_url:
            raise LLMError(
                "the openai_vision captioner needs an API key: set OPENAI_API_KEY (or llm.api_key), or "
                "llm.base_url of a local OpenAI-compatible server"
            )
        self._secrets, self._official = (key,), base_url is None
        self.client = openai.OpenAI(api_key=key or "unused", base_url=base_url, timeout=config.timeout_s, max_retries=0)
        self._backoff = Backoff(config.max_retries, config.backoff_base_s, config.backoff_max_s)
        self.info = ModelInfo(accepts_audio=accepts_audio, max_images=MAX_IMAGES)

    def body(self, r: CaptionRequest) -> dict:
        """One user message: the prompt, then every image (or the sound); greedy first, sampled retries."""
        parts: list[dict] = [{"type": "text", "text": r.prompt}, *map(image_part, r.images)]
        if r.audio is not None and self.info.accepts_audio:
            parts.append(audio_part(r.audio, r.sample_rate))
        length = "max_completion_tokens" if self._official else "max_tokens"
        return {
            "model": self.model,
            "messages": [{"role": "user", "content": parts}],
            length: self.max_new_tokens,
            "temperature": 0.0 if r.attempt == 0 else self.temperature,
            "seed": r.attempt,
        }

    def _key(self, r: CaptionRequest) -> RequestKey:
        return RequestKey(self.name, self.model, r.prompt, r.key, r.attempt)

    def _one(self, r: CaptionRequest, stop: threading.Event) -> Reply:
        def fn():
            return self.client.chat.completions.create(**self.body(r))

        error: LLMError | None = None
        try:
            completion = call_with_retry(
                fn, self._backoff, transient_wait, stop, on_retry=lambda _: self.stats.add(transport_retries=1)
            )
        except openai.OpenAIError as exc:
            error = translate(exc, self._secrets, strip_userinfo(str(self.client.base_url)) or "")
        except LLMError:
            stop.set()
            raise
        if error is not None:
            stop.set()
            raise error  # outside the except block: no chained exception carries the request's headers
        reply = reply_from_completion(completion)
        self.cache.put(self._key(r), reply, r.attempt)  # stored before it counts
        self.stats.add_answer(reply.tokens_in, reply.tokens_out)
        return reply

    def generate(self, requests: Sequence[CaptionRequest]) -> Iterator[tuple[CaptionRequest, Reply]]:
        stored = self.cache.get(self._key(r) for r in requests)
        missing = []
        for r in requests:
            reply, attempt = stored.get(self._key(r).digest, (None, -1))
            if reply is not None and attempt == r.attempt:
                self.stats.add(cache_hits=1)
                yield r, reply
            else:
                missing.append(r)
        if not missing:
            return
        stop = threading.Event()
        pool = ThreadPoolExecutor(self.config.concurrency, thread_name_prefix="unibind-caption")
        futures = {pool.submit(self._one, r, stop): r for r in missing}
        try:
            for future in as_completed(futures):
                error = future.exception()
                if error is None:
                    yield futures[future], future.result()
                elif not isinstance(error, Stopped):
                    raise error
        finally:  # start nothing new after an error; running requests still store their answers
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)

    def report(self) -> dict:
        return {"backend": self.name, "model": self.model, **self.stats.report(), "llm_options": self.config.public()}


class OpenAIVisionCaptioner:
    @classmethod
    def from_settings(cls, s: Settings) -> CachedCaptioner:
        c = s.caption
        model = OpenAIVisionModel(
            s.llm,
            c.model or DEFAULT_MODEL,
            ResponseCache(s.layout.llm_cache),
            c.max_new_tokens,
            c.openai_audio,
            c.retry_temperature,
        )
        return CachedCaptioner(model, s)
