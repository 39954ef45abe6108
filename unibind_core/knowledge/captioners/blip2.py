"""`CAPTIONERS["blip2"]`: BLIP-2 through transformers (Blip2ForConditionalGeneration + Blip2Processor).

Any BLIP-2 hub id or local folder: OPT variants (decoder-only: left padding, the prompt cut off the
output) and Flan-T5 variants (encoder-decoder). Batched, greedy by default, fp16/bf16 on CUDA. The
paper captions images (and event / thermal data through their paired RGB frames) with BLIP-2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from unibind_core.knowledge.captioners.base import CaptionRequest, ModelInfo
from unibind_core.knowledge.captioners.driver import CachedCaptioner
from unibind_core.knowledge.captioners.hf_common import HFGenerativeModel, replies
from unibind_core.knowledge.llm.cache import Reply

if TYPE_CHECKING:
    from unibind_core.core.settings import Settings

DEFAULT_MODEL = "Salesforce/blip2-opt-2.7b"


class Blip2Model(HFGenerativeModel):
    name = "blip2"
    processor_class, model_class = "Blip2Processor", "Blip2ForConditionalGeneration"
    info = ModelInfo(max_images=1)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.prompt_in_output = not self.lm.config.text_config.is_encoder_decoder

    def text(self, prompt: str) -> str:
        """BLIP-2's question format ('Question: ... Answer:') so the LM answers instead of continuing."""
        return f"Question: {prompt}. Answer:"

    @torch.inference_mode()
    def _batch(self, batch: list[CaptionRequest], options: dict) -> list[Reply]:
        enc = self.processor(
            images=[r.images[0] for r in batch],
            text=[self.text(r.prompt) for r in batch],
            return_tensors="pt",
            padding=True,
        ).to(self.device)
        enc["pixel_values"] = enc["pixel_values"].to(self.dtype)
        out = self.lm.generate(**enc, max_new_tokens=self.max_new_tokens, **options)
        return replies(out, enc, self.processor.tokenizer, self.prompt_in_output)


class Blip2Captioner:
    """Registry entry: the driver over `Blip2Model`, built from the settings."""

    @classmethod
    def from_settings(cls, s: Settings) -> CachedCaptioner:
        c = s.caption
        model = Blip2Model(
            c.model or DEFAULT_MODEL, s.device, s.dtype, c.batch_size, c.max_new_tokens, c.retry_temperature
        )
        return CachedCaptioner(model, s)
