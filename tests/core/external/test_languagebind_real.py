"""The languagebind backbone against the real `languagebind` package in the real `languagebind` environment
(`make env-languagebind`; its root is UNIBIND_VENV_ROOT, default .venvs in the repository root): tiny models of
each modality built from the package's own config classes (seeded random weights, saved with save_pretrained
by languagebind_direct.py in that environment, with a CLIP tokenizer written here from open_clip's BPE file),
embedded the way users do (Settings -> load_backbone -> the external runner), must equal the models' own
outputs on inputs built with the package's own preprocessing (languagebind_direct.py) for images, a video,
audio, thermal, depth and texts. Without the environment the test fails: it is the only check of the real
package."""
from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import open_clip
import pytest
import torch

from unibind_core.backbone.select import load_backbone
from unibind_core.backbone.views import ViewConfig, apply_view
from unibind_core.external.envs import ExternalConfig, setup_command, venv_python
from unibind_core.settings import Settings

REPO = Path(__file__).resolve().parents[3]
DIRECT = Path(__file__).resolve().parent / "languagebind_direct.py"
LAYERS = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
TINY = {"text": LAYERS, "vision": {**LAYERS, "patch_size": 32, "image_size": 224}, "projection_dim": 16,
        "modalities": {  # what the real checkpoints change per modality (at tiny sizes)
            "video": {"add_time_attn": True, "num_frames": 8},
            "audio": {"num_mel_bins": 64, "target_length": 224, "audio_sample_rate": 16000,
                      "audio_mean": -4.2677393, "audio_std": 4.5689974},
            "depth": {"max_depth": 10}}}
TEXTS = ["a dog barking", "a photo of a red car on a wet street", "a dog barking"]
AUDIO_RATE = 22050  # resampled to 16 kHz by the package's AudioTransform and by the script


def venv_root() -> Path:
    return Path(os.environ.get("UNIBIND_VENV_ROOT") or REPO / ".venvs").expanduser().resolve()


def write_clip_vocabulary(folder: Path) -> None:
    """vocab.json and merges.txt of CLIP's tokenizer (what LanguageBind's checkpoints ship), built offline from
    the BPE merges open_clip carries, as CLIP's SimpleTokenizer builds its vocabulary."""
    bpe = Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
    with gzip.open(bpe, "rt", encoding="utf-8") as fh:
        merges = fh.read().split("\n")[1:49152 - 256 - 2 + 1]
    vocab = list(open_clip.tokenizer.bytes_to_unicode().values())  # CLIP's byte -> character table
    vocab += [v + "</w>" for v in vocab] + ["".join(m.split()) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    assert len(vocab) == 49408
    (folder / "vocab.json").write_text(json.dumps({token: i for i, token in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")


def chirps(start_hz: torch.Tensor, seconds: float, g: torch.Generator) -> torch.Tensor:
    """(B, L) rising sweeps plus a little noise: the spectrum changes along the clip, so chunks taken from the
    wrong place change the vector; stationary noise would hide it."""
    t = torch.arange(int(AUDIO_RATE * seconds)) / AUDIO_RATE
    return 0.3 * torch.sin(2 * torch.pi * (start_hz + 700 * t) * t) + 0.01 * torch.randn(len(start_hz), len(t), generator=g)


def case(folder: Path):
    """The inputs (as the backbone receives them), the tiny models and tokenizer, their direct outputs; a
    missing environment fails the test (not a skip: nothing else runs the real package)."""
    python = venv_python(venv_root(), "languagebind")
    if not python.is_file():
        pytest.fail(f"the languagebind environment is missing ({python}): create it with "
                    f"`{setup_command('languagebind')}` (UNIBIND_VENV_ROOT={venv_root()}); this test runs the real "
                    f"languagebind package there")
    g = torch.Generator().manual_seed(0)
    levels = lambda *shape: torch.randint(0, 256, shape, generator=g).float() / 255  # k/255: exact in a PNG
    views = ViewConfig(point_size=160)  # the depth renders are resized by the model's transform
    batch = {"image": levels(2, 3, 240, 300), "video": levels(2, 10, 3, 120, 160), "thermal": levels(2, 1, 200, 260),
             "point": torch.rand(2, 300, 3, generator=g) * 2 - 1,
             "audio": chirps(torch.tensor([[200.0], [900.0]]), 4.3, g)}
    np.savez(folder / "inputs.npz", image=batch["image"].numpy(), audio=batch["audio"].numpy(),
             audio_rate=np.int64(AUDIO_RATE), video=apply_view("video", batch["video"], views).numpy(),
             thermal=apply_view("thermal", batch["thermal"], views)[:, 0].numpy(),
             depth=apply_view("point", batch["point"], views).numpy())  # (2, 6, 3, 160, 160) the script's input
    (folder / "texts.json").write_text(json.dumps(TEXTS))
    (folder / "model.json").write_text(json.dumps(TINY))
    write_clip_vocabulary(folder)
    run = subprocess.run([str(python), str(DIRECT), str(folder)], check=False, capture_output=True, text=True)
    assert run.returncode == 0, f"{DIRECT.name} failed in {python}:\n{run.stderr[-3000:]}"
    direct = {key: torch.from_numpy(value) for key, value in np.load(folder / "direct.npz").items()}
    return batch, views, direct


def test_the_languagebind_backbone_equals_the_real_models_own_outputs(tmp_path):
    folder = tmp_path / "case"
    folder.mkdir()
    batch, views, direct = case(folder)
    s = Settings(data_root=tmp_path, backbone="languagebind", backbone_model=str(folder), device="cpu",
                 batch_size=4, views=views, external=ExternalConfig(venv_root=str(venv_root())))
    backbone = load_backbone(s, "image")
    ours = {"text": backbone.embed_text(TEXTS), "depth": backbone.embed("point", batch["point"]),
            **{m: backbone.embed(m, batch[m], {"sample_rate": AUDIO_RATE} if m == "audio" else None)
               for m in ("image", "video", "audio", "thermal")}}
    assert backbone.dim == 16
    for name, vectors in ours.items():
        assert vectors.shape == direct[name].shape == (len(direct[name]), 16), name
        assert torch.allclose(vectors.norm(dim=1), torch.ones(len(vectors)), atol=1e-5), name
        cosine = (vectors * direct[name]).sum(1)
        assert (cosine > 0.9999).all(), f"{name}: cosine to LanguageBind's own output {cosine.tolist()}"
        assert not torch.allclose(vectors[0], vectors[1], atol=1e-3), name  # the rows are not one constant
    assert torch.allclose(ours["text"][0], ours["text"][2], atol=1e-6)
