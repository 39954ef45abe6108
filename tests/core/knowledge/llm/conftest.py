"""Fixtures for the LLM describer tests: a fake OpenAI-compatible server and describers pointed at it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI
from llm_testing import llm_settings

from unibind_core.knowledge.llm.openai_describer import OpenAIDescriber


@pytest.fixture
def server():
    with FakeOpenAI() as s:
        yield s


@pytest.fixture
def make_describer(tmp_path) -> Callable[..., OpenAIDescriber]:
    """make_describer(server, root=None, **LLMConfig options): an OpenAIDescriber caching under the root."""

    def make(server: FakeOpenAI, root: Path | None = None, **options) -> OpenAIDescriber:
        return OpenAIDescriber.from_settings(llm_settings(root or tmp_path, server.base_url, **options))

    return make
