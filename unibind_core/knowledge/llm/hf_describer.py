"""Category descriptions from a local `transformers` causal LM (LLaMA family, by hub id or local dir).

Prompts are generated in left-padded batches of `concurrency`; sampling is seeded per batch from the
requests' seeds, so a rerun of the same requests gives the same answers. Answers go through the same
response cache as the API backends, so a restart regenerates only what was never generated.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import torch

from unibind_core.core.torch_setup import resolve_device, resolve_dtype
from unibind_core.knowledge.llm.cache import Reply, ResponseCache
from unibind_core.knowledge.llm.config import LLMConfig
from unibind_core.knowledge.llm.describer import SYSTEM_PROMPT, Answer, LLMDescriber, Persist, Request
from unibind_core.knowledge.llm.stats import Accounting

if TYPE_CHECKING:
    from unibind_core.core.settings import Settings


@lru_cache(maxsize=1)
def load_causal_lm(model: str, device: str, dtype: str, gguf_file: str | None = None) -> tuple:
    """(tokenizer, model, device) loaded once per process; the tokenizer pads on the left for generation.
    With `gguf_file` (a llama.cpp file in the `model` folder) transformers de-quantizes the weights and
    rebuilds the tokenizer from the file (it needs the `gguf` and `accelerate` packages)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dev = resolve_device(device)
    gguf = {"gguf_file": gguf_file} if gguf_file else {}
    tokenizer = AutoTokenizer.from_pretrained(model, **gguf)
    tokenizer.padding_side = "left"  # decoder-only models continue from the last position of every row
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    lm = AutoModelForCausalLM.from_pretrained(model, dtype=resolve_dtype(dtype, dev), **gguf).to(dev).eval()
    return tokenizer, lm, dev


class HFBackend:
    """Batched `generate()` on a local causal LM."""

    name = "hf"
    price_factor = 1.0

    def __init__(self, config: LLMConfig, device: str = "auto", dtype: str = "auto") -> None:
        if not config.model:
            raise ValueError(
                "the hf describer needs a model: a hub id or a local directory with a causal LM "
                "(the option llm.model, or UNIBIND_DESCRIBER_MODEL)"
            )
        self.config = config
        # the model's identity (cache keys, the Source column) names the GGUF file when there is one
        self.model = f"{config.model}/{config.gguf_file}" if config.gguf_file else str(config.model)
        self.tokenizer, self.lm, self.device = load_causal_lm(str(config.model), device, dtype, config.gguf_file)

    def render(self, request: Request) -> str:
        """The chat template when the tokenizer has one (instruction-tuned models), else plain text."""
        messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": request.key.prompt}]
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return f"{SYSTEM_PROMPT}\n\n{request.key.prompt}\n"

    def run(self, requests: Sequence[Request], persist: Persist) -> Iterator[Answer]:
        size = self.config.concurrency
        for start in range(0, len(requests), size):
            batch = requests[start : start + size]
            for request, reply in zip(batch, self.generate(batch)):
                persist(request, reply)
                yield Answer(request, reply)

    @torch.inference_mode()
    def generate(self, batch: Sequence[Request]) -> list[Reply]:
        enc = self.tokenizer([self.render(r) for r in batch], return_tensors="pt", padding=True).to(self.device)
        sample = self.config.temperature > 0
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):  # seeded sampling without touching the global RNG
            torch.manual_seed(batch[0].seed)
            out = self.lm.generate(
                **enc,
                max_new_tokens=self.config.max_tokens,
                do_sample=sample,
                temperature=self.config.temperature if sample else None,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        new = out[:, enc["input_ids"].shape[1] :]  # (B, T_new)
        eos = self.tokenizer.eos_token_id
        replies = []
        for row, mask in zip(new, enc["attention_mask"]):
            ended = eos is not None and bool((row == eos).any())
            n_out = int((row == eos).nonzero()[0, 0]) + 1 if ended else row.shape[0]
            replies.append(
                Reply(
                    self.tokenizer.decode(row[:n_out], skip_special_tokens=True),
                    tokens_in=int(mask.sum()),
                    tokens_out=n_out,
                    finish_reason="stop" if ended else "length",
                )
            )
        return replies


class HFDescriber(LLMDescriber):
    """`DESCRIBERS["hf"]`: the LLM describer over a local causal LM, on the configured device and dtype."""

    @classmethod
    def from_settings(cls, s: Settings) -> HFDescriber:
        cfg = s.llm
        stats = Accounting(cfg.price_in_per_1m, cfg.price_out_per_1m)
        return cls(HFBackend(cfg, s.device, s.dtype), ResponseCache(s.layout.llm_cache), cfg, stats)
