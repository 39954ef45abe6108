"""Options of the captioners (docs/method.md §1, data captions): one frozen dataclass under `caption.`.

Device and dtype are the pipeline's (`device`, `dtype`: unibind_core/core/torch_setup.py); an
OpenAI-compatible server's URL, key, concurrency, retries and prices are the describers' (`llm.*`),
so one endpoint configuration serves both knowledge stages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from unibind_core.core.errors import ConfigError
from unibind_core.core.options import option

CAPTION_PROMPT = "Generate a detailed description of this {noun}"  # the paper's prompt (docs/method.md §1)
MULTI_IMAGE = ("together", "each")


@dataclass(frozen=True)
class CaptionViews:
    """Which view each modality is captioned through (CAPTION_VIEWS), spelled as the embedding views are:
    `caption.views.event` beside `views.event`."""

    image: str = option("image", "caption view of images (CAPTION_VIEWS)")
    event: str = option("paired_rgb", "caption view of event data: paired_rgb (else event_frame) or event_frame")
    thermal: str = option(
        "paired_rgb", "caption view of thermal data: paired_rgb (else thermal_image) or thermal_image"
    )
    video: str = option("keyframes", "caption view of videos (CAPTION_VIEWS)")
    point: str = option("point_views", "caption view of point clouds: rendered depth views")
    audio: str = option(
        "auto", "caption view of sounds: auto (waveform for audio models, else spectrogram), waveform or spectrogram"
    )


@dataclass(frozen=True)
class CaptionConfig:
    """How a model captioner sees a sample and answers ([ours] unless marked)."""

    model: str | None = option(None, "captioning model: a hub id or a local folder", env="UNIBIND_CAPTIONER_MODEL")
    prompt: str = option(CAPTION_PROMPT, "prompt, with {noun} for the benchmark's noun (photo, sound, ...)")
    batch_size: int = option(16, "samples per generate() batch")
    max_new_tokens: int = option(60, "answer budget; captions are kept to 75 CLIP BPE tokens")
    max_bad_answers: int = option(3, "empty, prompt-echo, refusal or truncated answers per sample before it is flagged")
    keep_truncated: bool = option(
        False,
        "keep an answer cut off at max_new_tokens (finish reason length), cut to "
        "75 CLIP tokens like any long one, instead of asking again",
    )
    retry_temperature: float = option(0.7, "local models: sampling temperature of retries (the first try is greedy)")
    views: CaptionViews = option(factory=CaptionViews, doc="the caption view of each modality")
    RENAMED: ClassVar[dict[str, str]] = {
        f"{m}_view": f"views.{m}" for m in ("image", "event", "thermal", "video", "point", "audio")
    }
    keyframes: int = option(4, "video: keyframes per clip; point clouds: rendered views (1..6)")
    multi_image: str = option(
        "together",
        "several images of one sample: together (one request; a mosaic for "
        "one-image models) or each (one caption per image, merged)",
    )
    render_size: int = option(384, "side in pixels of rendered views (event frames, thermal, depth, spectrograms)")
    openai_audio: bool = option(False, "openai_vision: the model takes audio input (else sounds go as spectrograms)")

    def __post_init__(self) -> None:
        for name in ("batch_size", "max_new_tokens", "max_bad_answers", "keyframes", "render_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"option caption.{name} must be at least 1, got {getattr(self, name)!r}")
        if self.multi_image not in MULTI_IMAGE:
            raise ConfigError(f"option caption.multi_image must be one of {MULTI_IMAGE}, got {self.multi_image!r}")


def caption_prompt(noun: str, template: str = CAPTION_PROMPT) -> str:
    return template.format(noun=noun)
