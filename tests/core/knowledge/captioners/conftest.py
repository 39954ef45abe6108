"""Fixtures of the captioner tests: a small demo world, tiny models on disk, the fake OpenAI server."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))  # the describers' fake server

from tiny_captioners import save_tiny_blip2, save_tiny_llava, save_tiny_qwen2_audio

from unibind_core.core.settings import Settings
from unibind_core.stages.data import stage_manifest, stage_world

DEMO = ("demo_image", "demo_event", "demo_thermal", "demo_video", "demo_pointcloud", "demo_audio")


@pytest.fixture(scope="session")
def demo_world(tmp_path_factory) -> Path:
    """A demo world (2 digits per class) with every manifest, built once; tests copy it."""
    root = tmp_path_factory.mktemp("caption-world")
    s = Settings(data_root=root, profile="demo", demo_max_per_class=2)
    stage_world(s)
    for bench in DEMO:
        stage_manifest(s, bench)
    return root


@pytest.fixture
def world(demo_world, tmp_path) -> Path:
    root = tmp_path / "data"
    shutil.copytree(demo_world, root)
    return root


@pytest.fixture(scope="session")
def tiny_blip2(tmp_path_factory) -> Path:
    return save_tiny_blip2(tmp_path_factory.mktemp("tiny-blip2"))


@pytest.fixture(scope="session")
def tiny_llava(tmp_path_factory) -> Path:
    return save_tiny_llava(tmp_path_factory.mktemp("tiny-llava"))


@pytest.fixture(scope="session")
def tiny_qwen2_audio(tmp_path_factory) -> Path:
    return save_tiny_qwen2_audio(tmp_path_factory.mktemp("tiny-qwen2-audio"))
