"""Pipeline settings: one frozen dataclass passed explicitly (Dagster config converts to it at the edge)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from unibind_core.backbone.pretrain import PretrainConfig
from unibind_core.layout import Layout
from unibind_core.llm.config import LLMConfig


@dataclass(frozen=True)
class Settings:
    data_root: Path
    profile: str = "demo"
    seed: int = 0
    demo_max_per_class: int | None = None  # None: all 1,797 digits; tests use a smaller demo world
    describer: str = "template"
    descriptions_per_category: int = 120  # paper: 1,000 (METHOD.md §1); the demo keeps it small
    llm: LLMConfig = field(default_factory=LLMConfig)  # options of the openai / hf describers
    captioner: str = "manifest"
    text_encoder: str = "minilm"
    text_model: str | None = None  # model dir or hub id; None = the bundled all-MiniLM-L6-v2
    backbone: str = "demo"
    device: str = "auto"
    dtype: str = "auto"
    batch_size: int = 256  # inference batch for text and backbone
    k: int = 50  # centres per class (paper)
    centre_ranking: str = "data_mean"  # or "label_free" (METHOD.md §2)
    temperature: float = 0.07
    head_epochs: int | None = None  # None: the benchmark's TrainSpec
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    progress: bool = False

    @property
    def layout(self) -> Layout:
        return Layout(Path(self.data_root))
