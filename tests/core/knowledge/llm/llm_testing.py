"""Shared constants and settings builders of the LLM describer tests (importable by test modules)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from unibind_core.core.settings import Settings
from unibind_core.data.benchmarks.manifest import CLASSES_SCHEMA, ClassInfo
from unibind_core.knowledge.llm.config import LLMConfig, Secret
from unibind_core.storage.tables import CLASSES as CLASS_LIST

API_KEY = "sk-unibind-test-9f8e7d6c5b4a3210"
CLASSES = [ClassInfo(0, "n001", "dog"), ClassInfo(1, "n002", "owl"), ClassInfo(2, "n003", "apple")]
BENCH = "demo_image"  # a registered benchmark whose prompt noun is "photo"
FAST = dict(backoff_base_s=0.01, backoff_max_s=0.05, batch_poll_s=0.01, timeout_s=5.0)


def llm_settings(root: Path, base_url: str, **options) -> Settings:
    """Settings of the openai describer against a fake server, with fast backoff and polling."""
    cfg = LLMConfig(
        **{
            "model": "fake-gpt",
            "base_url": base_url,
            "api_key": Secret(API_KEY),
            "chunk_size": 10,
            "concurrency": 4,
            **FAST,
            **options,
        }
    )
    return Settings(data_root=root, describer="openai", llm=cfg)


def write_classes(settings: Settings, bench: str = BENCH, classes: list[ClassInfo] = CLASSES) -> None:
    """The class list the descriptions stage reads, without building a dataset."""
    table = pa.table(
        {
            "class_index": [c.index for c in classes],
            "class_key": [c.key for c in classes],
            "class_name": [c.name for c in classes],
            "dataset_index": [c.dataset_index for c in classes],
        },
        schema=CLASSES_SCHEMA,
    )
    CLASS_LIST.write(table, settings.layout.classes(bench))
