"""Which backbone embeds a modality, and which text tower embeds that space's texts."""

from __future__ import annotations

import pytest

from unibind_core.core.errors import ConfigError, UnknownNameError
from unibind_core.core.settings import Settings
from unibind_core.encoders.backbone.base import BackboneChoice
from unibind_core.encoders.backbone.select import (
    backbone_choice,
    load_backbone,
    space_id,
    text_tower,
)
from unibind_core.stages.common import check_settings


def test_a_per_modality_entry_replaces_the_backbone_for_that_modality_only(tmp_path):
    s = Settings(
        data_root=tmp_path,
        backbone="open_clip",
        backbone_model="ViT-H-14",
        backbone_weights="laion2b",
        backbone_per_modality='{"audio": {"backbone": "clap", "model": "laion/clap-htsat-unfused"}}',
    )
    assert backbone_choice(s, "image") == BackboneChoice("open_clip", "ViT-H-14", "laion2b")
    assert backbone_choice(s, "audio") == BackboneChoice("clap", "laion/clap-htsat-unfused", None)
    assert space_id(s, "image") == "open_clip:ViT-H-14:laion2b"
    assert space_id(s, "audio").startswith("clap:laion/clap-htsat-unfused")


@pytest.mark.parametrize(
    "value",
    [
        '{"audio": "clap"}',
        '{"audio": {"model": "m"}}',
        "[1]",
        "{oops",
        '{"audio": {"backbone": "clap", "revision": "x"}}',
    ],
)
def test_malformed_per_modality_entries_name_the_option(tmp_path, value):
    with pytest.raises(ConfigError, match="backbone_per_modality"):
        Settings(data_root=tmp_path, backbone_per_modality=value)


def test_an_unknown_backbone_in_an_override_is_refused_before_work_starts(tmp_path):
    s = Settings(data_root=tmp_path, backbone_per_modality='{"audio": {"backbone": "wav2clip"}}')
    with pytest.raises(
        UnknownNameError,
        match="unknown backbone 'wav2clip'; known: clap, demo, hf_clip, imagebind, languagebind, open_clip",
    ):
        check_settings(s)


def test_the_demo_space_is_the_configured_text_tower_and_needs_no_demo_weights(tmp_path):
    s = Settings(data_root=tmp_path, device="cpu")
    assert space_id(s, "image") == "minilm:bundled"
    assert text_tower(s, "image").name.startswith("meanpool:")  # MiniLM, before demo_backbone exists
    with pytest.raises(FileNotFoundError, match="materialize demo_backbone first"):
        load_backbone(s, "image")
