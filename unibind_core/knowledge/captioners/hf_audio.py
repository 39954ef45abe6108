"""`CAPTIONERS["hf_audio"]`: an audio-capable transformers LM of the Qwen2-Audio class
(Qwen2AudioForConditionalGeneration + its processor), for sound captions from the waveform.

The sound goes in the chat template's audio slot at the processor's sampling rate (16 kHz), batched
with left padding, greedy by default.
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

DEFAULT_MODEL = "Qwen/Qwen2-Audio-7B-Instruct"


class HFAudioModel(HFGenerativeModel):
    name = "hf_audio"
    processor_class, model_class = "AutoProcessor", "Qwen2AudioForConditionalGeneration"
    info = ModelInfo(accepts_audio=True, max_images=0)

    def __init__(
        self,
        model: str,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 8,
        max_new_tokens: int = 60,
        retry_temperature: float = 0.7,
    ) -> None:
        super().__init__(model, device, dtype, batch_size, max_new_tokens, retry_temperature)

    def render(self, r: CaptionRequest) -> str:
        content = [{"type": "audio", "audio_url": "sample.wav"}, {"type": "text", "text": r.prompt}]
        return self.processor.apply_chat_template(
            [{"role": "user", "content": content}], add_generation_prompt=True, tokenize=False
        )

    @torch.inference_mode()
    def _batch(self, batch: list[CaptionRequest], options: dict) -> list[Reply]:
        if any(r.audio is None for r in batch):
            raise ValueError("the hf_audio captioner captions sounds only (caption.views.audio waveform or auto)")
        rate = self.processor.feature_extractor.sampling_rate
        enc = self.processor(
            text=[self.render(r) for r in batch],
            audio=[r.audio for r in batch],
            sampling_rate=rate,
            return_tensors="pt",
            padding=True,
        ).to(self.device)
        if "input_features" in enc:
            enc["input_features"] = enc["input_features"].to(self.dtype)
        out = self.lm.generate(**enc, max_new_tokens=self.max_new_tokens, **options)
        return replies(out, enc, self.processor.tokenizer, prompt_in_output=True)


class HFAudioCaptioner:
    @classmethod
    def from_settings(cls, s: Settings) -> CachedCaptioner:
        c = s.caption
        return CachedCaptioner(
            HFAudioModel(
                c.model or DEFAULT_MODEL, s.device, s.dtype, c.batch_size, c.max_new_tokens, c.retry_temperature
            ),
            s,
        )
