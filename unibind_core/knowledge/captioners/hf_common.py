"""What the transformers captioners share: loading on the configured device and dtype, batched
generation (greedy first, seeded sampling for retries), and cutting the prompt off the answer."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from itertools import groupby
from typing import Any

import torch

from unibind_core.core.torch_setup import resolve_device, resolve_dtype
from unibind_core.knowledge.captioners.base import CaptionRequest, ModelInfo
from unibind_core.knowledge.llm.cache import Reply
from unibind_core.storage.io import content_hash


def placement(device: str, dtype: str) -> tuple[torch.device, torch.dtype]:
    """The pipeline's device and dtype (torch_setup): fp16/bf16 on CUDA, fp32 on CPU unless told otherwise."""
    dev = resolve_device(device)
    return dev, resolve_dtype(dtype, dev)


def left_padded(processor: Any) -> Any:
    """Decoder-only LMs continue from each row's last position: pad on the left (BLIP-2 OPT, VLMs)."""
    tok = getattr(processor, "tokenizer", processor)
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return processor


def sampling(attempt: int, temperature: float) -> dict:
    """generate() options of one attempt: greedy first (reproducible), then sampling for retries."""
    if attempt == 0 or temperature <= 0:
        return {"do_sample": False}
    return {"do_sample": True, "temperature": temperature, "top_p": 0.95}


def batches(requests: Sequence[CaptionRequest], size: int) -> Iterator[list[CaptionRequest]]:
    """Runs of at most `size` requests of one attempt (a greedy batch never mixes with a sampled one)."""
    ordered = sorted(requests, key=lambda r: r.attempt)
    for _, group in groupby(ordered, key=lambda r: r.attempt):
        group = list(group)
        for start in range(0, len(group), size):
            yield group[start : start + size]


def replies(out: torch.Tensor, inputs: dict, tokenizer: Any, prompt_in_output: bool) -> list[Reply]:
    """Decoded answers of a generate() output (B, T): a decoder-only model repeats the (left-padded)
    input first, which is cut off; an encoder-decoder (Flan-T5) returns only the answer."""
    new = out[:, inputs["input_ids"].shape[1] :] if prompt_in_output else out  # (B, T_new)
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    result = []
    for row, mask in zip(new, inputs["attention_mask"]):
        tokens = [t for t in row.tolist() if t != pad or t == eos]
        ended = eos is not None and eos in tokens
        n_out = tokens.index(eos) + 1 if ended else len(tokens)
        text = tokenizer.decode(tokens[:n_out], skip_special_tokens=True)
        result.append(
            Reply(
                text.strip(), tokens_in=int(mask.sum()), tokens_out=n_out, finish_reason="stop" if ended else "length"
            )
        )
    return result


def generate_all(
    requests: Sequence[CaptionRequest],
    size: int,
    temperature: float,
    one_batch: Callable[[list[CaptionRequest], dict], list[Reply]],
) -> Iterator[tuple[CaptionRequest, Reply]]:
    """`one_batch(batch, generate options)` over batches of one attempt; sampled batches seeded from their
    keys and attempt, without touching the global RNG (a rerun of the same retries gives the same answers)."""
    for batch in batches(requests, size):
        options = sampling(batch[0].attempt, temperature)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(content_hash(batch[0].key, str(batch[0].attempt))[:8], 16))
            answers = one_batch(batch, options)
        yield from zip(batch, answers)


@lru_cache(maxsize=2)
def load_generator(model: str, device: str, dtype: str, processor_class: str, model_class: str) -> tuple:
    """(processor, model, device, dtype) of transformers' `processor_class` / `model_class`, loaded once per
    process on the configured device and dtype, the processor padding on the left."""
    import transformers

    dev, dt = placement(device, dtype)
    processor = left_padded(getattr(transformers, processor_class).from_pretrained(model))
    lm = getattr(transformers, model_class).from_pretrained(model, dtype=dt).to(dev).eval()
    return processor, lm, dev, dt


class HFGenerativeModel:
    """A transformers captioner: a subclass names its processor and model classes and answers one batch
    (`_batch`); loading, batching and seeded retries are shared."""

    name: str
    processor_class: str
    model_class: str
    info: ModelInfo = ModelInfo()

    def __init__(
        self,
        model: str,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 16,
        max_new_tokens: int = 60,
        retry_temperature: float = 0.7,
    ) -> None:
        self.model, self.batch_size = model, batch_size
        self.max_new_tokens, self.retry_temperature = max_new_tokens, retry_temperature
        self.processor, self.lm, self.device, self.dtype = load_generator(
            model, device, dtype, self.processor_class, self.model_class
        )

    def _batch(self, batch: list[CaptionRequest], options: dict) -> list[Reply]:
        raise NotImplementedError

    def generate(self, requests: Sequence[CaptionRequest]) -> Iterator[tuple[CaptionRequest, Reply]]:
        yield from generate_all(requests, self.batch_size, self.retry_temperature, self._batch)
