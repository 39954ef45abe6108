"""Fixtures of tiny backbones (tiny_models.py), each built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_models import TINY_OPEN_CLIP, save_tiny_open_clip


@pytest.fixture(scope="session")
def tiny_open_clip(tmp_path_factory) -> tuple[str, Path]:
    """(architecture name, weights file) of the tiny open_clip model."""
    folder = tmp_path_factory.mktemp("open_clip")
    return TINY_OPEN_CLIP, save_tiny_open_clip(folder)


@pytest.fixture(scope="session")
def open_clip_backbone(tiny_open_clip):
    from unibind_core.encoders.backbone.open_clip import OpenClipBackbone

    name, weights = tiny_open_clip
    return OpenClipBackbone(name, str(weights), device="cpu", batch_size=4)


@pytest.fixture(scope="session")
def tiny_hf_clip(tmp_path_factory) -> Path:
    """A save_pretrained folder of a tiny CLIPModel + CLIPProcessor."""
    from tiny_models import save_tiny_hf_clip

    return save_tiny_hf_clip(tmp_path_factory.mktemp("hf_clip"))


@pytest.fixture(scope="session")
def hf_clip_backbone(tiny_hf_clip):
    from unibind_core.encoders.backbone.hf_clip import HfClipBackbone

    return HfClipBackbone(str(tiny_hf_clip), device="cpu", batch_size=4)


@pytest.fixture(scope="session")
def tiny_clap(tmp_path_factory) -> Path:
    from tiny_models import save_tiny_clap

    return save_tiny_clap(tmp_path_factory.mktemp("clap"))


@pytest.fixture(scope="session")
def clap_backbone(tiny_clap):
    from unibind_core.encoders.backbone.clap import ClapBackbone

    return ClapBackbone(str(tiny_clap), device="cpu", batch_size=4)
