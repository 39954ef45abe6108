"""clap backbone: a transformers ClapModel + ClapProcessor (hub id or local folder) for audio, with its own
text tower. The loader decodes whole clips at the rate of the model's feature extractor (`loader_options`;
our one resampler, data/modalities/audio.py RESAMPLER); each clip then goes through the saved ClapFeatureExtractor
alone, as `ClapProcessor(audios=clip)` does: its truncation (rand_trunc, fusion) and padding (repeatpad, pad,
repeat) as configured. The random crop of a clip longer than the model's input is drawn with numpy's
generator seeded to 0 for each clip, so a clip's vector depends neither on the run nor on its batch.

`backbone_model` is the hub id (`laion/clap-htsat-unfused`) or a save_pretrained folder; `backbone_weights`,
if set, the hub revision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from unibind_core.core.errors import ConfigError
from unibind_core.core.modality import Modality
from unibind_core.core.torch_setup import resolve_device, resolve_dtype
from unibind_core.data.modalities.audio import resample
from unibind_core.encoders.backbone.base import BackboneChoice, HubModel, MicroBatcher
from unibind_core.encoders.backbone.hf_clip import unwrap
from unibind_core.encoders.backbone.views import ViewConfig

LOADER_DEFAULT_RATE = 16000  # unibind_core.data.modalities.audio.load's default sample_rate
CROP_SEED = 0  # numpy's global generator, seeded per clip for the feature extractor's random crop


@lru_cache(maxsize=16)
def model_sample_rate(model: str, revision: str | None) -> int:
    """The sampling rate of a CLAP model's saved feature extractor (its preprocessor config, not the model)."""
    from transformers import ClapFeatureExtractor

    return int(
        ClapFeatureExtractor.from_pretrained(model, **({"revision": revision} if revision else {})).sampling_rate
    )


def seeded_features(extractor: Any, wave: np.ndarray, rate: int) -> Mapping[str, torch.Tensor]:
    """One clip through the feature extractor with numpy's global generator at CROP_SEED (restored after)."""
    state = np.random.get_state()
    np.random.seed(CROP_SEED)
    try:
        return extractor(wave, sampling_rate=rate, return_tensors="pt")
    finally:
        np.random.set_state(state)


class ClapBackbone(HubModel):
    """A frozen CLAP model: audio (B, L) at the loader's rate -> (B, D); texts through its RoBERTa tower."""

    family = "clap"
    modalities = frozenset({Modality.AUDIO})

    def __init__(
        self,
        model: str | None,
        weights: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 256,
        views: ViewConfig | None = None,
    ) -> None:
        from transformers import ClapModel, ClapProcessor

        self.id = self.identify(BackboneChoice(self.family, model, weights))  # refuses a missing model
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.batcher = MicroBatcher(batch_size)
        revision = {"revision": weights} if weights else {}
        self.model = ClapModel.from_pretrained(model, dtype=self.dtype, **revision).to(self.device).eval()
        self.processor = ClapProcessor.from_pretrained(model, **revision)
        features = self.processor.feature_extractor
        self.sample_rate = int(features.sampling_rate)
        self.max_samples = int(features.nb_max_samples)
        self.max_length = int(self.model.config.text_config.max_position_embeddings) - 2  # RoBERTa's offset
        self.dim = int(self.model.config.projection_dim)

    @property
    def name(self) -> str:
        return self.id

    @classmethod
    def options_record(cls, s: Any) -> str:
        return ""  # no views: the vectors depend on the weights and the loader's clips only

    @classmethod
    def loader_options(cls, s: Any, modality: str) -> dict[str, Any]:
        """Whole clips at the model's rate: the feature extractor pads and truncates them itself."""
        from unibind_core.encoders.backbone.select import backbone_choice

        choice = backbone_choice(s, modality)
        cls.identify(choice)  # a missing model is a ConfigError naming the option, not a hub lookup of None
        return {"sample_rate": model_sample_rate(choice.model, choice.weights), "num_samples": None}

    def waveforms(
        self, batch: torch.Tensor | Sequence[torch.Tensor], meta: Mapping[str, Any] | None
    ) -> list[np.ndarray]:
        """(B, L) clips, or B clips of any lengths, at the loader's `sample_rate` -> at the model's rate."""
        source = int((meta or {}).get("sample_rate", LOADER_DEFAULT_RATE))
        return [resample(clip.float().numpy(), source, self.sample_rate) for clip in batch]

    def preprocess(
        self, batch: torch.Tensor | Sequence[torch.Tensor], meta: Mapping[str, Any] | None = None
    ) -> dict[str, torch.Tensor]:
        """B clips -> the feature extractor's input_features (B, C, frames, mels) and is_longer (B, 1), each
        clip extracted alone (`seeded_features`)."""
        parts = [
            seeded_features(self.processor.feature_extractor, wave, self.sample_rate)
            for wave in self.waveforms(batch, meta)
        ]
        return {key: torch.cat([torch.as_tensor(p[key]) for p in parts]) for key in parts[0]}

    @torch.inference_mode()
    def embed(
        self, modality: str, batch: torch.Tensor | Sequence[torch.Tensor], meta: Mapping[str, Any] | None = None
    ) -> torch.Tensor:
        """(B, L) audio, or B clips of any lengths -> (B, D) unit vectors."""
        if modality not in self.modalities:
            raise ConfigError(f"backbone {self.id} does not embed modality {modality!r}; it embeds audio")

        def run(chunk: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
            inputs = {k: v.to(self.device) for k, v in self.preprocess(chunk, meta).items()}
            inputs["input_features"] = inputs["input_features"].to(self.dtype)
            return F.normalize(unwrap(self.model.get_audio_features(**inputs)).float(), dim=-1).cpu()

        return self.batcher(run, batch)

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """(B,) texts -> input_ids/attention_mask, cut to the text tower's positions keeping the end token."""
        return self.processor.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )

    @torch.inference_mode()
    def embed_text(self, texts: list[str]) -> torch.Tensor:
        """(B,) texts -> (B, D) unit vectors from CLAP's text tower."""

        def run(chunk: list[str]) -> torch.Tensor:
            tokens = {k: v.to(self.device) for k, v in self.tokenize(chunk).items()}
            return F.normalize(unwrap(self.model.get_text_features(**tokens)).float(), dim=-1).cpu()

        return self.batcher(run, list(texts))
