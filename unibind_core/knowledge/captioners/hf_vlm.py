"""`CAPTIONERS["hf_vlm"]`: a transformers image-text-to-text model (AutoModelForImageTextToText +
AutoProcessor: LLaVA, Qwen2-VL, Idefics, SmolVLM, ...), prompted through its chat template.

Every image of a sample goes in one user turn (video keyframes, point views), batched with left
padding; greedy by default, the pipeline's device and dtype.
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

DEFAULT_MODEL = "llava-hf/llava-1.5-7b-hf"


class HFVisionModel(HFGenerativeModel):
    name = "hf_vlm"
    processor_class, model_class = "AutoProcessor", "AutoModelForImageTextToText"

    def __init__(
        self,
        model: str,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 16,
        max_new_tokens: int = 60,
        retry_temperature: float = 0.7,
        max_images: int = 8,
    ) -> None:
        super().__init__(model, device, dtype, batch_size, max_new_tokens, retry_temperature)
        self.info = ModelInfo(max_images=max_images)

    def render(self, r: CaptionRequest) -> str:
        content = [*({"type": "image"} for _ in r.images), {"type": "text", "text": r.prompt}]
        return self.processor.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True)

    @torch.inference_mode()
    def _batch(self, batch: list[CaptionRequest], options: dict) -> list[Reply]:
        images = [list(r.images) for r in batch]
        enc = self.processor(images=images, text=[self.render(r) for r in batch], return_tensors="pt", padding=True).to(
            self.device
        )
        if "pixel_values" in enc:
            enc["pixel_values"] = enc["pixel_values"].to(self.dtype)
        out = self.lm.generate(**enc, max_new_tokens=self.max_new_tokens, **options)
        return replies(out, enc, self.processor.tokenizer, prompt_in_output=True)


class HFVisionCaptioner:
    @classmethod
    def from_settings(cls, s: Settings) -> CachedCaptioner:
        c = s.caption
        if not c.model:
            raise ValueError(
                "the hf_vlm captioner needs a model: a hub id or local folder of an image-text-to-text "
                "model (caption.model, or UNIBIND_CAPTIONER_MODEL)"
            )
        return CachedCaptioner(
            HFVisionModel(c.model, s.device, s.dtype, c.batch_size, c.max_new_tokens, c.retry_temperature), s
        )
