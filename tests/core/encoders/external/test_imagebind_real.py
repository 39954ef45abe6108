"""The imagebind backbone against the real ImageBind package in the real `imagebind` environment (`make
env-imagebind`; its root is UNIBIND_VENV_ROOT, default .venvs in the repository root): a tiny ImageBindModel
(keyword arguments in a JSON file, seeded random weights saved by imagebind_direct.py in that environment),
embedded the way users do (Settings -> load_backbone -> the external runner), must equal the model's own
outputs on inputs built with ImageBind's own functions (imagebind_direct.py) for images, a video, audio,
thermal, depth and texts. Without the environment the test fails: it is the only check of the real package."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers.real_envs import (
    AUDIO_RATE,
    TEXTS,
    assert_each_model_loaded_once,
    assert_equal_to_direct,
    chirps,
    direct_outputs,
    env_python,
    venv_root,
)
from unibind_core.core.settings import Settings
from unibind_core.encoders.backbone.select import load_backbone
from unibind_core.encoders.backbone.views import ViewConfig, apply_view
from unibind_core.encoders.external.envs import ExternalConfig
from unibind_core.encoders.external.runner import SubprocessRunner, using_runner

pytestmark = pytest.mark.external  # the real package in .venvs: make test only

DIRECT = Path(__file__).resolve().parent / "imagebind_direct.py"
TINY = {
    "out_embed_dim": 16,
    "vision_embed_dim": 32,
    "vision_num_blocks": 1,
    "vision_num_heads": 2,
    "text_embed_dim": 32,
    "text_num_blocks": 1,
    "text_num_heads": 2,
    "audio_embed_dim": 32,
    "audio_num_blocks": 1,
    "audio_num_heads": 2,
    "depth_embed_dim": 32,
    "depth_num_blocks": 1,
    "depth_num_heads": 2,
    "thermal_embed_dim": 32,
    "thermal_num_blocks": 1,
    "thermal_num_heads": 2,
    "imu_embed_dim": 16,
    "imu_num_blocks": 1,
    "imu_num_heads": 2,
}


def case(folder: Path):
    """The inputs (as the backbone receives them), the tiny model's JSON and weights, its direct outputs; a
    missing environment fails the test (not a skip: nothing else runs the real package)."""
    python = env_python("imagebind")
    g = torch.Generator().manual_seed(0)

    def levels(*shape: int) -> torch.Tensor:  # k/255: exact in a PNG
        return torch.randint(0, 256, shape, generator=g).float() / 255

    views = ViewConfig(point_size=224)  # depth renders at the model's size: no resize to mirror
    batch = {
        "image": levels(2, 3, 240, 300),
        "video": levels(2, 8, 3, 224, 224),
        "thermal": levels(2, 1, 224, 224),
        "point": torch.rand(2, 300, 3, generator=g) * 2 - 1,
        "audio": chirps(torch.tensor([[200.0], [900.0]]), 4.3, g),
    }
    depth = apply_view("point", batch["point"], views)  # (2, 6, 3, 224, 224) what the script receives
    np.savez(
        folder / "inputs.npz",
        image=batch["image"].numpy(),
        audio=batch["audio"].numpy(),
        audio_rate=np.int64(AUDIO_RATE),
        video=apply_view("video", batch["video"], views).numpy(),
        thermal=apply_view("thermal", batch["thermal"], views).numpy(),
        depth=depth.numpy(),
    )
    (folder / "texts.json").write_text(json.dumps(TEXTS))
    (folder / "model.json").write_text(json.dumps(TINY))
    direct = direct_outputs(python, DIRECT, folder)
    return batch, views, direct


def test_the_imagebind_backbone_equals_the_real_models_own_outputs(tmp_path):
    folder = tmp_path / "case"
    folder.mkdir()
    batch, views, direct = case(folder)
    s = Settings(
        data_root=tmp_path,
        backbone="imagebind",
        backbone_model=str(folder / "model.json"),
        backbone_weights=str(folder / "weights.pth"),
        device="cpu",
        batch_size=4,
        views=views,
        external=ExternalConfig(venv_root=str(venv_root())),
    )
    backbone = load_backbone(s, "image")
    runner = SubprocessRunner()
    with using_runner(runner):
        assert_equal_to_direct(backbone, batch, direct, "ImageBind")
    assert_each_model_loaded_once(runner, "imagebind", 1)
