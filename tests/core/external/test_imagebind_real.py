"""The imagebind backbone against the real ImageBind package in the real `imagebind` environment (`make
env-imagebind`; its root is UNIBIND_VENV_ROOT, default .venvs in the repository root): a tiny ImageBindModel
(keyword arguments in a JSON file, seeded random weights saved by imagebind_direct.py in that environment),
embedded the way users do (Settings -> load_backbone -> the external runner), must equal the model's own
outputs on inputs built with ImageBind's own functions (imagebind_direct.py) for images, a video, audio,
thermal, depth and texts. Without the environment the test fails: it is the only check of the real package."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from unibind_core.backbone.select import load_backbone
from unibind_core.backbone.views import ViewConfig, apply_view
from unibind_core.external.envs import ExternalConfig, setup_command, venv_python
from unibind_core.settings import Settings

REPO = Path(__file__).resolve().parents[3]
DIRECT = Path(__file__).resolve().parent / "imagebind_direct.py"
TINY = {"out_embed_dim": 16, "vision_embed_dim": 32, "vision_num_blocks": 1, "vision_num_heads": 2,
        "text_embed_dim": 32, "text_num_blocks": 1, "text_num_heads": 2, "audio_embed_dim": 32,
        "audio_num_blocks": 1, "audio_num_heads": 2, "depth_embed_dim": 32, "depth_num_blocks": 1,
        "depth_num_heads": 2, "thermal_embed_dim": 32, "thermal_num_blocks": 1, "thermal_num_heads": 2,
        "imu_embed_dim": 16, "imu_num_blocks": 1, "imu_num_heads": 2}
TEXTS = ["a dog barking", "a photo of a red car on a wet street", "a dog barking"]
AUDIO_RATE = 22050  # resampled to 16 kHz by ImageBind's loader and by the script


def venv_root() -> Path:
    return Path(os.environ.get("UNIBIND_VENV_ROOT") or REPO / ".venvs").expanduser().resolve()


def chirps(start_hz: torch.Tensor, seconds: float, g: torch.Generator) -> torch.Tensor:
    """(B, L) rising sweeps plus a little noise: the spectrum changes along the clip, so audio taken from the
    wrong place (not ImageBind's clip starts) changes the vector; stationary noise would hide it."""
    t = torch.arange(int(AUDIO_RATE * seconds)) / AUDIO_RATE
    return 0.3 * torch.sin(2 * torch.pi * (start_hz + 700 * t) * t) + 0.01 * torch.randn(len(start_hz), len(t), generator=g)


def case(folder: Path):
    """The inputs (as the backbone receives them), the tiny model's JSON and weights, its direct outputs; a
    missing environment fails the test (not a skip: nothing else runs the real package)."""
    python = venv_python(venv_root(), "imagebind")
    if not python.is_file():
        pytest.fail(f"the imagebind environment is missing ({python}): create it with `{setup_command('imagebind')}` "
                    f"(UNIBIND_VENV_ROOT={venv_root()}); this test runs the real ImageBind package there")
    g = torch.Generator().manual_seed(0)
    levels = lambda *shape: torch.randint(0, 256, shape, generator=g).float() / 255  # k/255: exact in a PNG
    views = ViewConfig(point_size=224)  # depth renders at the model's size: no resize to mirror
    batch = {"image": levels(2, 3, 240, 300), "video": levels(2, 8, 3, 224, 224), "thermal": levels(2, 1, 224, 224),
             "point": torch.rand(2, 300, 3, generator=g) * 2 - 1,
             "audio": chirps(torch.tensor([[200.0], [900.0]]), 4.3, g)}
    depth = apply_view("point", batch["point"], views)  # (2, 6, 3, 224, 224) what the script receives
    np.savez(folder / "inputs.npz", image=batch["image"].numpy(), audio=batch["audio"].numpy(),
             audio_rate=np.int64(AUDIO_RATE), video=apply_view("video", batch["video"], views).numpy(),
             thermal=apply_view("thermal", batch["thermal"], views).numpy(), depth=depth.numpy())
    (folder / "texts.json").write_text(json.dumps(TEXTS))
    (folder / "model.json").write_text(json.dumps(TINY))
    run = subprocess.run([str(python), str(DIRECT), str(folder)], check=False, capture_output=True, text=True)
    assert run.returncode == 0, f"{DIRECT.name} failed in {python}:\n{run.stderr[-3000:]}"
    direct = {key: torch.from_numpy(value) for key, value in np.load(folder / "direct.npz").items()}
    return batch, views, direct


def test_the_imagebind_backbone_equals_the_real_models_own_outputs(tmp_path):
    folder = tmp_path / "case"
    folder.mkdir()
    batch, views, direct = case(folder)
    s = Settings(data_root=tmp_path, backbone="imagebind", backbone_model=str(folder / "model.json"),
                 backbone_weights=str(folder / "weights.pth"), device="cpu", batch_size=4, views=views,
                 external=ExternalConfig(venv_root=str(venv_root())))
    backbone = load_backbone(s, "image")
    ours = {"text": backbone.embed_text(TEXTS), "depth": backbone.embed("point", batch["point"]),
            **{m: backbone.embed(m, batch[m], {"sample_rate": AUDIO_RATE} if m == "audio" else None)
               for m in ("image", "video", "audio", "thermal")}}
    assert backbone.dim == 16
    for name, vectors in ours.items():
        assert vectors.shape == direct[name].shape == (len(direct[name]), 16), name
        assert torch.allclose(vectors.norm(dim=1), torch.ones(len(vectors)), atol=1e-5), name
        cosine = (vectors * direct[name]).sum(1)
        assert (cosine > 0.9999).all(), f"{name}: cosine to ImageBind's own output {cosine.tolist()}"
        assert not torch.allclose(vectors[0], vectors[1], atol=1e-3), name  # the rows are not one constant
    assert torch.allclose(ours["text"][0], ours["text"][2], atol=1e-6)
