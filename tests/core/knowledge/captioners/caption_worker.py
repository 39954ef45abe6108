"""Run the captions stage of one benchmark with openai_vision against a server URL (the SIGKILL test's child)."""

from __future__ import annotations

import sys

from unibind_core.core.settings import Settings
from unibind_core.knowledge.captioners import CaptionConfig
from unibind_core.knowledge.llm.config import LLMConfig, Secret
from unibind_core.stages.knowledge import stage_captions


def openai_settings(root, base_url: str, **caption) -> Settings:
    llm = LLMConfig(
        base_url=base_url,
        api_key=Secret("sk-unibind-caption-test-0123456789"),
        concurrency=2,
        backoff_base_s=0.01,
        backoff_max_s=0.05,
        timeout_s=10.0,
        price_in_per_1m=1.0,
        price_out_per_1m=2.0,
    )
    options = {"model": "fake-vision", "batch_size": 2, **caption}
    return Settings(
        data_root=root, profile="demo", captioner="openai_vision", llm=llm, caption=CaptionConfig(**options)
    )


if __name__ == "__main__":
    stage_captions(openai_settings(sys.argv[1], sys.argv[2]), sys.argv[3])
