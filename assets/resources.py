"""The one resource every asset uses: pipeline settings, converted to unibind_core's frozen Settings."""
from __future__ import annotations

from pathlib import Path

import dagster as dg

from unibind_core.backbone.pretrain import PretrainConfig
from unibind_core.settings import Settings


class UnibindResource(dg.ConfigurableResource):
    """Where data lives and which backends run. Switching to real backends changes these, not code."""

    data_root: str
    profile: str = "demo"
    seed: int = 0
    demo_max_per_class: int | None = None
    describer: str = "template"
    descriptions_per_category: int = 120
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

    def settings(self) -> Settings:
        pretrain = PretrainConfig(epochs_anchor=self.pretrain_epochs_anchor, epochs_bind=self.pretrain_epochs_bind,
                                  seed=self.seed)
        fields = self.model_dump(exclude={"data_root", "pretrain_epochs_anchor", "pretrain_epochs_bind"})
        return Settings(data_root=Path(self.data_root).resolve(), pretrain=pretrain, **fields)
