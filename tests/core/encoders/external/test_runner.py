"""The runner's failure modes: a missing environment, an incomplete one, a failing script; a worker's life."""

from __future__ import annotations

import pytest
import torch

from tests.helpers.external_envs import make_env
from unibind_core.core.errors import ConfigError
from unibind_core.encoders.backbone.imagebind import ImageBindBackbone
from unibind_core.encoders.external.envs import ExternalConfig
from unibind_core.encoders.external.runner import (
    ExternalJob,
    ExternalScriptError,
    SubprocessRunner,
    current_runner,
    using_runner,
)


def test_a_missing_environment_names_its_setup_command(tmp_path):
    backbone = ImageBindBackbone(
        None, "w.pth", device="cpu", work_root=tmp_path, external=ExternalConfig(venv_root=str(tmp_path / "nowhere"))
    )
    with pytest.raises(ConfigError, match=r"make env-imagebind.*unibind env create imagebind"):
        backbone.embed_text(["a"])


def test_an_environment_without_its_packages_names_its_setup_command(tmp_path):
    python = make_env(tmp_path / "venvs", "languagebind", with_standins=False)  # no torch, no languagebind
    job = ExternalJob(
        "languagebind",
        "languagebind_embed.py",
        tmp_path / "work",
        python,
        {"kind": "text"},
        {"texts": "texts.jsonl"},
        {"vectors": "vectors.npy"},
    )
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


@pytest.mark.slow  # worker processes started and killed: ~7 s
def test_a_worker_serves_every_request_of_its_model_and_a_dead_one_names_its_environment(tmp_path):
    venvs = tmp_path / "venvs"
    make_env(venvs, "imagebind")
    (tmp_path / "small.json").write_text('{"out_embed_dim": 8}')
    backbone = ImageBindBackbone(
        str(tmp_path / "small.json"),
        device="cpu",
        batch_size=2,
        work_root=tmp_path / "w",
        external=ExternalConfig(venv_root=str(venvs)),
    )
    runner = SubprocessRunner()
    with using_runner(runner):
        backbone.embed("image", torch.rand(2, 3, 16, 16))
        backbone.embed_text(["a dog"])
        [(worker, _)] = runner.workers.workers.values()
        assert runner.workers.started["imagebind"] == 1 and worker.alive
        job = ExternalJob(
            "imagebind",
            "imagebind_embed.py",
            tmp_path / "w" / "bad",
            backbone.external.python("imagebind"),
            {"kind": "smell", "model": str(tmp_path / "small.json")},
            outputs={"vectors": "v.npy"},
            worker_key=next(iter(runner.workers.workers))[3],
        )
        with pytest.raises(
            ExternalScriptError, match=r"(?s)environment 'imagebind'.*exit code 1.*unknown kind 'smell'"
        ):
            runner.run(job)  # the same worker: it dies on the bad request, the error quotes its stderr
        assert not worker.alive and not runner.workers.workers
        assert backbone.embed_text(["a cat"]).shape == (1, 8)  # the next request starts a fresh worker
        assert runner.workers.started["imagebind"] == 2
        [(worker, _)] = runner.workers.workers.values()
    assert not worker.alive and not runner.workers.workers  # the block's end closed it


def test_a_workers_request_returns_only_after_its_last_log_line(tmp_path):
    """stdout (the reply) and stderr (the log) are two pipes read by two threads: without the `@done` marker a
    request could return before its script's last log line was forwarded (a suite run saw it happen)."""
    from unibind_core.core.progress import reporting

    venvs = tmp_path / "venvs"
    make_env(venvs, "imagebind")
    (tmp_path / "small.json").write_text('{"out_embed_dim": 8}')
    backbone = ImageBindBackbone(
        str(tmp_path / "small.json"),
        device="cpu",
        batch_size=4,
        work_root=tmp_path / "w",
        external=ExternalConfig(venv_root=str(venvs)),
    )
    with using_runner(SubprocessRunner()):
        for n in range(1, 13):  # the script logs "embedded n text rows" as the last thing before it replies
            events = []
            with reporting(events.append):
                backbone.embed_text([f"text {i}" for i in range(n)])
            lines = [e.line() for e in events]
            assert any(f"embedded {n} text rows" in line for line in lines), (n, lines)
            assert not any(line.startswith("@done") or "@done " in line for line in lines)  # the marker is no log
