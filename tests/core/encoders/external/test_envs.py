"""The environments' setup: pins per environment, dagster-pipes by Python version, the venv root option."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from unibind_core.core.errors import ConfigError
from unibind_core.core.settings import Settings
from unibind_core.encoders.external.envs import ENVIRONMENTS, pipes_pin, plan


def test_each_environment_installs_its_pinned_stack_into_its_own_folder(tmp_path):
    pins = {
        "languagebind": "languagebind==0.1.0",
        "imagebind": "imagebind-unofficial==0.1.1",
        "lavis": "salesforce-lavis==1.0.2",
    }
    assert set(ENVIRONMENTS) == set(pins)
    for name, pin in pins.items():
        venv, *_, install = plan(name, tmp_path, "/usr/bin/python3", None)
        assert venv == ["/usr/bin/python3", "-m", "venv", str(tmp_path / name)]
        assert install[:4] == [str(tmp_path / name / "bin" / "python"), "-m", "pip", "install"] and pin in install
    assert "transformers==4.45.2" in ENVIRONMENTS["languagebind"].requirements
    assert "transformers>=4.25,<4.27" in ENVIRONMENTS["lavis"].requirements
    *_, stack, alone = plan("imagebind", tmp_path, "/usr/bin/python3", None)  # its declared deps are left out
    assert "torch==2.14.1" in stack and alone[4:] == ["--no-deps", "imagebind-unofficial==0.1.1"]
    uv = plan("lavis", tmp_path, "3.9", "/bin/uv")
    assert uv[0] == ["/bin/uv", "venv", "--python", "3.9", str(tmp_path / "lavis")]
    assert uv[1][:5] == ["/bin/uv", "pip", "install", "--python", str(tmp_path / "lavis" / "bin" / "python")]


def test_dagster_pipes_follows_the_environments_python():
    assert pipes_pin((3, 11)) == "dagster-pipes==1.13.27"
    assert pipes_pin((3, 9)) == "dagster-pipes==1.12.1" and pipes_pin((3, 8)) == "dagster-pipes==1.8.13"
    with pytest.raises(ConfigError):
        pipes_pin((3, 7))


def test_the_venv_root_is_an_option_with_an_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("UNIBIND_VENV_ROOT", str(tmp_path))
    s = Settings.from_mapping({"data_root": str(tmp_path)})
    assert s.external.python("lavis") == tmp_path / "lavis" / "bin" / "python"
    out = CliRunner().invoke(app, ["env", "create", "imagebind", "--dry-run"])
    assert out.exit_code == 0 and f"-m venv {tmp_path / 'imagebind'}" in out.output
    listed = CliRunner().invoke(app, ["env", "list"]).output
    assert "imagebind" in listed and "missing" in listed and str(Path(tmp_path)) in listed
