"""Settings are declared once: defaults, docs and environment overrides come from the dataclass fields."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from unibind_core.core.options import default_of, iter_options, to_plain
from unibind_core.core.settings import Settings
from unibind_core.knowledge.captioners import CAPTIONERS, CaptionConfig, ManifestCaptioner
from unibind_core.knowledge.llm.config import LLMConfig, Secret


def test_every_option_has_a_doc():
    undocumented = [name for name, _, _, doc, _ in iter_options(Settings) if not doc]
    assert not undocumented
    names = {name for name, *_ in iter_options(Settings)}
    assert {"k", "llm.chunk_size", "pretrain.epochs_bind", "caption.prompt"} <= names


def test_from_mapping_builds_nested_settings_and_converts_plain_values(tmp_path):
    s = Settings.from_mapping(
        {
            "data_root": str(tmp_path),
            "k": 7,
            "llm": {"mode": "batch", "api_key": "sk-x"},
            "pretrain": {"epochs_anchor": 2},
        },
        environ={},
    )
    assert s.data_root == tmp_path and isinstance(s.data_root, Path)
    assert (s.k, s.llm.mode, s.pretrain.epochs_anchor, s.pretrain.epochs_bind) == (7, "batch", 2, 15)
    assert s.llm.api_key == Secret("sk-x") and "sk-x" not in repr(s)
    assert s.caption == CaptionConfig() and s.describer == "template"


def test_environment_overrides_defaults_but_not_given_values(tmp_path):
    env = {"UNIBIND_DESCRIBER": "openai", "UNIBIND_DESCRIBER_MODEL": "llama-3", "UNIBIND_DATA_ROOT": str(tmp_path)}
    s = Settings.from_mapping({}, environ=env)
    assert (s.describer, s.llm.model, s.data_root) == ("openai", "llama-3", tmp_path)
    assert Settings.from_mapping({"describer": "hf"}, environ=env).describer == "hf"
    assert default_of(Settings, "profile", {"UNIBIND_PROFILE": "paper"}) == "paper"
    assert default_of(Settings, "profile", {}) == "demo"


def test_bad_options_are_named():
    with pytest.raises(ValueError, match=r"unknown Settings option\(s\) \['kk'\]"):
        Settings.from_mapping({"data_root": "/x", "kk": 3}, environ={})
    with pytest.raises(ValueError, match="option 'data_root' is required"):
        Settings.from_mapping({}, environ={})
    with pytest.raises(ValueError, match="unknown describer mode"):
        Settings.from_mapping({"data_root": "/x", "llm": {"mode": "fast"}}, environ={})


def test_to_plain_leaves_secrets_out(tmp_path):
    s = Settings(data_root=tmp_path, llm=LLMConfig(api_key=Secret("sk-secret")))
    plain = to_plain(s)
    assert plain["data_root"] == str(tmp_path) and "api_key" not in plain["llm"]
    assert "sk-secret" not in str(plain)


def test_captioners_are_built_from_the_settings(tmp_path):
    s = Settings(data_root=tmp_path, caption=dataclasses.replace(CaptionConfig(), prompt="Describe this {noun}"))
    captioner = CAPTIONERS.from_settings(s.captioner, s)
    assert isinstance(captioner, ManifestCaptioner) and captioner.prompt == "Describe this {noun}"


@pytest.mark.parametrize(
    "option,value",
    [
        ("k", 0),
        ("k", -1),
        ("batch_size", 0),
        ("head_epochs", 0),
        ("demo_max_per_class", -1),
        ("temperature", 0.0),
        ("temperature", float("nan")),
    ],
)
def test_values_no_stage_can_run_with_are_refused_by_name(tmp_path, option, value):
    with pytest.raises(ValueError, match=f"option {option} must be"):
        Settings(data_root=tmp_path, **{option: value})
