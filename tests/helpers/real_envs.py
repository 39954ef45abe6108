"""What the real-package tests of the external backbones share (tests/core/encoders/external/test_*_real.py):
the environment's interpreter (a missing one fails the test in `make test` and skips it in `make test-fast`,
naming its setup command: nothing else runs the real package), the model's own outputs computed in that
environment, and the comparison with ours."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tests.helpers.lanes import missing
from unibind_core.encoders.external.envs import setup_command, venv_python

REPO = Path(__file__).resolve().parents[2]
TEXTS = ["a dog barking", "a photo of a red car on a wet street", "a dog barking"]  # a repeat: same vector
AUDIO_RATE = 22050  # both packages resample to 16 kHz, as the scripts do


def venv_root() -> Path:
    """UNIBIND_VENV_ROOT (set by `make test`), else .venvs in the repository root."""
    return Path(os.environ.get("UNIBIND_VENV_ROOT") or REPO / ".venvs").expanduser().resolve()


def env_python(name: str) -> Path:
    """The interpreter of environment `name`; the test fails (not skips) without it."""
    python = venv_python(venv_root(), name)
    if not python.is_file():
        missing(
            f"the {name} environment ({python}, UNIBIND_VENV_ROOT={venv_root()}) that runs the real {name} package",
            setup_command(name),
        )
    return python


def chirps(start_hz: torch.Tensor, seconds: float, g: torch.Generator) -> torch.Tensor:
    """(B, L) rising sweeps plus a little noise: the spectrum changes along the clip, so audio taken from the
    wrong place changes the vector; stationary noise would hide it."""
    t = torch.arange(int(AUDIO_RATE * seconds)) / AUDIO_RATE
    return 0.3 * torch.sin(2 * torch.pi * (start_hz + 700 * t) * t) + 0.01 * torch.randn(
        len(start_hz), len(t), generator=g
    )


def direct_outputs(python: Path, script: Path, folder: Path) -> dict[str, torch.Tensor]:
    """Run `script` (it builds the tiny model and saves its own outputs to folder/direct.npz) in the environment."""
    run = subprocess.run([str(python), str(script), str(folder)], check=False, capture_output=True, text=True)
    assert run.returncode == 0, f"{script.name} failed in {python}:\n{run.stderr[-3000:]}"
    return {key: torch.from_numpy(value) for key, value in np.load(folder / "direct.npz").items()}


def assert_equal_to_direct(
    backbone: Any, batch: dict[str, torch.Tensor], direct: dict[str, torch.Tensor], family: str, dim: int = 16
) -> None:
    """Our vectors for texts, depth (point clouds), image, video, audio and thermal against the model's own:
    (B, dim), unit norm, cosine > 0.9999, rows not one constant, a repeated text the same vector."""
    ours = {
        "text": backbone.embed_text(TEXTS),
        "depth": backbone.embed("point", batch["point"]),
        **{
            m: backbone.embed(m, batch[m], {"sample_rate": AUDIO_RATE} if m == "audio" else None)
            for m in ("image", "video", "audio", "thermal")
        },
    }
    assert backbone.dim == dim
    for name, vectors in ours.items():
        assert vectors.shape == direct[name].shape == (len(direct[name]), dim), name
        assert torch.allclose(vectors.norm(dim=1), torch.ones(len(vectors)), atol=1e-5), name
        cosine = (vectors * direct[name]).sum(1)
        assert (cosine > 0.9999).all(), f"{name}: cosine to {family}'s own output {cosine.tolist()}"
        assert not torch.allclose(vectors[0], vectors[1], atol=1e-3), name  # the rows are not one constant
    assert torch.allclose(ours["text"][0], ours["text"][2], atol=1e-6)


def assert_each_model_loaded_once(runner: Any, env: str, models: int) -> None:
    """After `assert_equal_to_direct` under `runner`: its six kinds of request went to one worker process, which
    built `models` models (ImageBind: one for every kind; LanguageBind: one per modality, text sharing image's)."""
    assert dict(runner.workers.started) == {env: 1}, runner.workers.started
    assert runner.workers.last[env]["model_loads"] == models, runner.workers.last[env]
