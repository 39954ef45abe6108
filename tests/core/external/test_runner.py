"""The runner's failure modes: a missing environment, an incomplete one, a failing script."""
from __future__ import annotations

import pytest

from tests.helpers.external_envs import make_env
from unibind_core.backbone.imagebind import ImageBindBackbone
from unibind_core.errors import ConfigError
from unibind_core.external.envs import ExternalConfig
from unibind_core.external.runner import (
    ExternalJob,
    SubprocessRunner,
    current_runner,
    using_runner,
)


def test_a_missing_environment_names_its_setup_command(tmp_path):
    backbone = ImageBindBackbone(None, "w.pth", device="cpu", work_root=tmp_path,
                                 external=ExternalConfig(venv_root=str(tmp_path / "nowhere")))
    with pytest.raises(ConfigError, match=r"make env-imagebind.*unibind env create imagebind"):
        backbone.embed_text(["a"])


def test_an_environment_without_its_packages_names_its_setup_command(tmp_path):
    python = make_env(tmp_path / "venvs", "languagebind", with_standins=False)  # no torch, no languagebind
    job = ExternalJob("languagebind", "languagebind_embed.py", tmp_path / "work", python, {"kind": "text"},
                      {"texts": "texts.jsonl"}, {"vectors": "vectors.npy"})
    with pytest.raises(ConfigError, match=r"lacks a package(.|\n)*make env-languagebind(.|\n)*cannot import torch"):
        SubprocessRunner().run(job)


def test_the_installed_runner_is_the_one_used():
    class Recorder:
        def run(self, job):
            raise AssertionError("not reached")
    recorder = Recorder()
    assert isinstance(current_runner(), SubprocessRunner)
    with using_runner(recorder):
        assert current_runner() is recorder
    assert isinstance(current_runner(), SubprocessRunner)
