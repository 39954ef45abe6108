"""Data captions (docs/method.md §1): one multi-modal-LLM description per training sample.

Layout, one job per module:
  config    CaptionConfig (every `caption.*` option)
  base      the Captioner the stage sees, the ModelCaptioner a backend implements, CaptionRequest
  views/    what a model is shown of each modality (CAPTION_VIEWS): the image, the paired RGB frame,
            keyframes, rendered depth views, the waveform or a spectrogram
  judge     bad answers (empty, prompt echo, refusal) and the 75-CLIP-token limit
  cache     per-sample answers as append-only Parquet shards (CAPTION_CACHE_SHARD)
  driver    the loop shared by every model captioner: cache, views, batches, retries, quarantine, metrics
  manifest / blip2 / hf_vlm / hf_audio / openai_vision / lavis   the entries of CAPTIONERS

Entries are dotted paths, so transformers and openai are imported only by the captioner that is chosen.
"""

from __future__ import annotations

from unibind_core.core.registry import Registry
from unibind_core.knowledge.captioners.base import (
    Captioner,
    CaptionJob,
    CaptionRequest,
    ModelCaptioner,
    ModelInfo,
)
from unibind_core.knowledge.captioners.config import CAPTION_PROMPT, CaptionConfig, caption_prompt
from unibind_core.knowledge.captioners.manifest import ManifestCaptioner

CAPTIONERS: Registry[type] = Registry(
    "captioner",
    {
        "manifest": ManifestCaptioner,
        "blip2": "unibind_core.knowledge.captioners.blip2:Blip2Captioner",
        "hf_vlm": "unibind_core.knowledge.captioners.hf_vlm:HFVisionCaptioner",
        "hf_audio": "unibind_core.knowledge.captioners.hf_audio:HFAudioCaptioner",
        "openai_vision": "unibind_core.knowledge.captioners.openai_vision:OpenAIVisionCaptioner",
        "lavis": "unibind_core.knowledge.captioners.lavis:LavisCaptioner",  # in its own environment: make env-lavis
    },
)

__all__ = [
    "CAPTIONERS",
    "CAPTION_PROMPT",
    "CaptionConfig",
    "CaptionJob",
    "CaptionRequest",
    "Captioner",
    "ManifestCaptioner",
    "ModelCaptioner",
    "ModelInfo",
    "caption_prompt",
]
