"""clap backbone: a transformers ClapModel + ClapProcessor (hub id or local folder) for audio, with its own
text tower. Clips are resampled from the loader's rate to the model's, centre-cropped to the model's
longest input (so no random truncation happens), and padded by the feature extractor as CLAP was trained.

`backbone_model` is the hub id (`laion/clap-htsat-unfused`) or a save_pretrained folder; `backbone_weights`,
if set, the hub revision.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from unibind_core.backbone.base import BackboneChoice, HubModel, MicroBatcher
from unibind_core.backbone.hf_clip import unwrap
from unibind_core.backbone.views import ViewConfig
from unibind_core.errors import ConfigError
from unibind_core.modalities.audio import fit_length, resample
from unibind_core.torch_setup import resolve_device, resolve_dtype

LOADER_DEFAULT_RATE = 16000  # unibind_core.modalities.audio.load's default sample_rate


class ClapBackbone(HubModel):
    """A frozen CLAP model: audio (B, L) at the loader's rate -> (B, D); texts through its RoBERTa tower."""

    family = "clap"
    modalities = frozenset({"audio"})

    def __init__(self, model: str | None, weights: str | None = None, device: str = "auto", dtype: str = "auto",
                 batch_size: int = 256, views: ViewConfig | None = None) -> None:
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

    def waveforms(self, batch: torch.Tensor, meta: Mapping[str, Any] | None) -> list[np.ndarray]:
        """(B, L) clips at the loader's `sample_rate` -> B clips at the model's rate, at most its longest input."""
        source = int((meta or {}).get("sample_rate", LOADER_DEFAULT_RATE))
        out = []
        for clip in batch.float().numpy():
            wave = resample(clip, source, self.sample_rate)
            out.append(fit_length(wave, self.max_samples) if len(wave) > self.max_samples else wave)
        return out

    def preprocess(self, batch: torch.Tensor, meta: Mapping[str, Any] | None = None) -> dict[str, torch.Tensor]:
        """(B, L) -> the feature extractor's input_features (B, 1, frames, mels) and is_longer (B, 1)."""
        return self.processor.feature_extractor(self.waveforms(batch, meta), sampling_rate=self.sample_rate,
                                                return_tensors="pt")

    @torch.inference_mode()
    def embed(self, modality: str, batch: torch.Tensor, meta: Mapping[str, Any] | None = None) -> torch.Tensor:
        """(B, L) audio -> (B, D) unit vectors."""
        if modality not in self.modalities:
            raise ConfigError(f"backbone {self.id} does not embed modality {modality!r}; it embeds audio")

        def run(chunk: torch.Tensor) -> torch.Tensor:
            inputs = {k: v.to(self.device) for k, v in self.preprocess(chunk, meta).items()}
            inputs["input_features"] = inputs["input_features"].to(self.dtype)
            return F.normalize(unwrap(self.model.get_audio_features(**inputs)).float(), dim=-1).cpu()
        return self.batcher(run, batch)

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """(B,) texts -> input_ids/attention_mask, cut to the text tower's positions keeping the end token."""
        return self.processor.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_length,
                                        return_tensors="pt")

    @torch.inference_mode()
    def embed_text(self, texts: list[str]) -> torch.Tensor:
        """(B,) texts -> (B, D) unit vectors from CLAP's text tower."""
        def run(chunk: list[str]) -> torch.Tensor:
            tokens = {k: v.to(self.device) for k, v in self.tokenize(chunk).items()}
            return F.normalize(unwrap(self.model.get_text_features(**tokens)).float(), dim=-1).cpu()
        return self.batcher(run, list(texts))
