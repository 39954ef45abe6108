"""The one resource every asset uses: pipeline settings, converted to unibind_core's frozen Settings."""
from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from pydantic import Field

from unibind_core.backbone.pretrain import PretrainConfig
from unibind_core.llm.config import LLMConfig, Secret
from unibind_core.settings import Settings

_LLM = LLMConfig()


def _env(name: str, default: str | None) -> str | None:
    return os.environ.get(name) or default


class UnibindResource(dg.ConfigurableResource):
    """Where data lives and which backends run. Switching to real backends changes these, not code."""

    data_root: str
    profile: str = "demo"
    seed: int = 0
    demo_max_per_class: int | None = None
    describer: str = Field(default_factory=lambda: _env("UNIBIND_DESCRIBER", "template"))  # template | openai | hf
    descriptions_per_category: int = 120
    # Describer options (unibind_core.llm.config.LLMConfig documents each); llm_api_key: dg.EnvVar("OPENAI_API_KEY")
    llm_model: str | None = Field(default_factory=lambda: _env("UNIBIND_DESCRIBER_MODEL", None))
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_mode: str = _LLM.mode
    llm_chunk_size: int = _LLM.chunk_size
    llm_concurrency: int = _LLM.concurrency
    llm_max_retries: int = _LLM.max_retries
    llm_max_bad_answers: int = _LLM.max_bad_answers
    llm_timeout_s: float = _LLM.timeout_s
    llm_temperature: float = _LLM.temperature
    llm_max_tokens: int = _LLM.max_tokens
    llm_price_in_per_1m: float = _LLM.price_in_per_1m
    llm_price_out_per_1m: float = _LLM.price_out_per_1m
    llm_batch_poll_s: float = _LLM.batch_poll_s
    captioner: str = "manifest"
    text_encoder: str = "minilm"
    text_model: str | None = None
    backbone: str = "demo"
    device: str = "auto"
    dtype: str = "auto"
    batch_size: int = 256
    k: int = 50
    centre_ranking: str = "data_mean"
    temperature: float = 0.07
    head_epochs: int | None = None
    pretrain_epochs_anchor: int = PretrainConfig.epochs_anchor
    pretrain_epochs_bind: int = PretrainConfig.epochs_bind
    progress: bool = False

    def llm_config(self) -> LLMConfig:
        """The describer options; the key is wrapped so no repr, log line or metadata can show it."""
        options = {k[4:]: v for k, v in self.model_dump().items() if k.startswith("llm_") and k != "llm_api_key"}
        return LLMConfig(api_key=Secret(self.llm_api_key) if self.llm_api_key else None, **options)

    def settings(self) -> Settings:
        pretrain = PretrainConfig(epochs_anchor=self.pretrain_epochs_anchor, epochs_bind=self.pretrain_epochs_bind,
                                  seed=self.seed)
        fields = {k: v for k, v in self.model_dump(exclude={"data_root", "pretrain_epochs_anchor",
                                                             "pretrain_epochs_bind"}).items() if not k.startswith("llm_")}
        return Settings(data_root=Path(self.data_root).resolve(), pretrain=pretrain, llm=self.llm_config(), **fields)
