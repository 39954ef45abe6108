"""Pipeline settings: one frozen dataclass passed explicitly to every stage.

Each field is the single declaration of an option (its default, a one-line doc, and the environment
variable that may override the default): the Dagster resource and its launchpad schema are derived
from these classes (assets/config.py), never written out a second time. docs/architecture.md lists them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unibind_core.core.errors import ConfigError
from unibind_core.core.options import from_mapping, option
from unibind_core.encoders.backbone.pretrain import PretrainConfig
from unibind_core.encoders.backbone.views import ViewConfig
from unibind_core.encoders.external.envs import ExternalConfig
from unibind_core.knowledge.captioners.config import CaptionConfig
from unibind_core.knowledge.llm.config import LLMConfig
from unibind_core.method.aligners import ALIGNERS
from unibind_core.method.aligners.config import AlignmentConfig
from unibind_core.storage.layout import Layout
from unibind_core.use.search_index import IndexConfig


@dataclass(frozen=True)
class Settings:
    data_root: Path = option(doc="where datasets and every artifact live (default ./data)", env="UNIBIND_DATA_ROOT")
    profile: str = option(
        "demo", "benchmark set, demo or paper; fixed per code location (the partitions)", env="UNIBIND_PROFILE"
    )
    seed: int = option(0, "seed of the demo world, the template describer and demo pre-training")
    demo_max_per_class: int | None = option(None, "smaller demo world: digits per class (None: all 1,797)")
    describer: str = option(
        "template", "who writes category descriptions: template, openai or hf (DESCRIBERS)", env="UNIBIND_DESCRIBER"
    )
    descriptions_per_category: int = option(120, "descriptions per category (paper: 1,000; docs/method.md §1)")
    llm: LLMConfig = option(doc="options of the openai / hf describers", factory=LLMConfig)
    captioner: str = option(
        "manifest", "who writes one caption per training sample (CAPTIONERS)", env="UNIBIND_CAPTIONER"
    )
    caption: CaptionConfig = option(doc="options of the captioner", factory=CaptionConfig)
    text_encoder: str = option("minilm", "text tower (TEXT_ENCODERS)")
    text_model: str | None = option(None, "text tower model dir or hub id; None: the bundled all-MiniLM-L6-v2")
    backbone: str = option(
        "demo",
        "frozen data encoders (BACKBONES): demo, open_clip, hf_clip, clap, imagebind or "
        "languagebind; its own text tower embeds the texts (the demo's: text_encoder)",
        env="UNIBIND_BACKBONE",
    )
    backbone_model: str | None = option(
        None,
        "open_clip: architecture (ViT-B-32) or hf-hub:/local-dir: id; "
        "hf_clip/clap: hub id or local folder; imagebind: imagebind_huge or a JSON "
        "of ImageBindModel arguments; languagebind: a folder of per-modality models "
        "or a hub organisation",
        env="UNIBIND_BACKBONE_MODEL",
    )
    backbone_weights: str | None = option(
        None,
        "open_clip: pretrained tag, checkpoint file or model folder; "
        "demo: defaults to the demo_backbone asset; imagebind: checkpoint file; "
        "languagebind: download cache folder",
        env="UNIBIND_BACKBONE_WEIGHTS",
    )
    backbone_per_modality: str = option(
        "",
        'per-modality backbone as JSON, e.g. {"audio": {"backbone": "clap", '
        '"model": "laion/clap-htsat-unfused"}} (replaces backbone/_model/_weights)',
        env="UNIBIND_BACKBONE_PER_MODALITY",
    )
    views: ViewConfig = option(doc="how image-text backbones view non-image modalities", factory=ViewConfig)
    external: ExternalConfig = option(
        doc="models in their own virtual environments (imagebind, languagebind, the lavis captioner)",
        factory=ExternalConfig,
    )
    device: str = option("auto", "auto, cpu, cuda or cuda:N (auto: CUDA when present)")
    dtype: str = option("auto", "auto, fp32, fp16 or bf16 (auto: bf16, else fp16, on CUDA; fp32 on CPU)")
    batch_size: int = option(
        256, "inference micro-batch of the text tower and the backbone (halves on CUDA out-of-memory)"
    )
    shard_size: int = option(
        8192,
        "rows per shard of feature extraction, captioning and text embedding: each "
        "shard is stored when complete, so a killed run resumes after the last one",
        env="UNIBIND_SHARD_SIZE",
    )
    fan_out: bool = option(
        False,
        "run each shard as its own Dagster step (parallel under the multiprocess "
        "executor, a pod or Ray job each on a cluster); off: one step per benchmark",
        env="UNIBIND_FAN_OUT",
    )
    k: int = option(50, "embedding centres per class (paper: 50)")
    centre_ranking: str = option("data_mean", "how descriptions are ranked into centres (CENTRE_RANKINGS)")
    temperature: float = option(0.07, "contrastive temperature of head fine-tuning (the released code: 1.0)")
    head_epochs: int | None = option(None, "head fine-tuning epochs; None: the benchmark's TrainSpec")
    aligner: str = option(
        "lcl", "alignment strategy of the fine-tuned setting, retrieval and headline (ALIGNERS)", env="UNIBIND_ALIGNER"
    )
    compare_aligners: str = option(
        "centrobind,exmcr", "further aligners trained and evaluated beside it, comma-separated (ALIGNERS; empty: none)"
    )
    alignment: AlignmentConfig = option(doc="options of the aligners and their training loop", factory=AlignmentConfig)
    pretrain: PretrainConfig = option(doc="image-centric pre-training of the demo encoders", factory=PretrainConfig)
    index: IndexConfig = option(doc="FAISS gallery index of embedding_index and unibind search", factory=IndexConfig)
    progress: bool = option(False, "progress bars on stderr (the CLI turns them on)")
    refresh: bool = option(
        False,
        "recompute every stage run now even where a stored output or cache entry is "
        "current (docs/architecture.md, Code versions)",
    )
    reader_options: str = option(
        "",
        'reader options per benchmark as JSON, e.g. {"esc50": {"test_folds": [1]}, '
        '"caltech101": {"classnames": null}} (a class-list file: "classnames": "<path>")',
        env="UNIBIND_READER_OPTIONS",
    )

    def __post_init__(self) -> None:
        """Refuse values no stage can run with, naming the option (before any work starts)."""
        positive = {
            "k": self.k,
            "batch_size": self.batch_size,
            "descriptions_per_category": self.descriptions_per_category,
            "head_epochs": self.head_epochs,
            "demo_max_per_class": self.demo_max_per_class,
            "shard_size": self.shard_size,
        }
        for name, value in positive.items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"option {name} must be a whole number of at least 1, got {value!r}")
        if not self.temperature > 0:  # also refuses NaN
            raise ConfigError(f"option temperature must be > 0, got {self.temperature!r}")
        self.reader_overrides()
        self.backbone_overrides()
        self.aligner_names()
        if self.alignment.eval_every is not None and self.alignment.eval_every < 1:
            raise ConfigError(f"option alignment.eval_every must be at least 1, got {self.alignment.eval_every!r}")

    def aligner_names(self) -> list[str]:
        """The primary aligner, then each further one once; an unknown name is a ConfigError."""
        names = [self.aligner] + [n.strip() for n in self.compare_aligners.split(",") if n.strip()]
        for n in names:
            if n not in ALIGNERS:
                raise ConfigError(
                    f"unknown aligner {n!r} (options aligner / compare_aligners); known: {', '.join(sorted(ALIGNERS))}"
                )
        return list(dict.fromkeys(names))

    def reader_overrides(self) -> dict[str, dict[str, Any]]:
        """`reader_options` parsed: {benchmark: {option: value}}; ConfigError naming the option if malformed."""
        if not self.reader_options.strip():
            return {}
        try:
            parsed = json.loads(self.reader_options)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"option reader_options is not valid JSON ({exc})") from exc
        if not isinstance(parsed, dict) or not all(isinstance(v, dict) for v in parsed.values()):
            raise ConfigError('option reader_options must be a JSON object {"<benchmark>": {"<option>": value}}')
        return parsed

    def backbone_overrides(self) -> dict[str, dict[str, str | None]]:
        """`backbone_per_modality` parsed: {modality: {backbone, model, weights}}; ConfigError if malformed."""
        if not self.backbone_per_modality.strip():
            return {}
        try:
            parsed = json.loads(self.backbone_per_modality)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"option backbone_per_modality is not valid JSON ({exc})") from exc
        allowed = {"backbone", "model", "weights"}
        if not isinstance(parsed, dict) or not all(
            isinstance(v, dict) and "backbone" in v and set(v) <= allowed for v in parsed.values()
        ):
            raise ConfigError(
                'option backbone_per_modality must be a JSON object {"<modality>": {"backbone": '
                '"<name>", "model": ..., "weights": ...}}'
            )
        return parsed

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from plain values (nested dicts for llm/caption/pretrain); unset options take their
        environment override, else their default."""
        return from_mapping(cls, values, environ)

    @property
    def layout(self) -> Layout:
        return Layout(Path(self.data_root))
