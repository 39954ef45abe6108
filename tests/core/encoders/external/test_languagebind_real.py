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
from pathlib import Path

import numpy as np
import open_clip
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

DIRECT = Path(__file__).resolve().parent / "languagebind_direct.py"
LAYERS = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
TINY = {
    "text": LAYERS,
    "vision": {**LAYERS, "patch_size": 32, "image_size": 224},
    "projection_dim": 16,
    "modalities": {  # what the real checkpoints change per modality (at tiny sizes)
        "video": {"add_time_attn": True, "num_frames": 8},
        "audio": {
            "num_mel_bins": 64,
            "target_length": 224,
            "audio_sample_rate": 16000,
            "audio_mean": -4.2677393,
            "audio_std": 4.5689974,
        },
        "depth": {"max_depth": 10},
    },
}


def write_clip_vocabulary(folder: Path) -> None:
    """vocab.json and merges.txt of CLIP's tokenizer (what LanguageBind's checkpoints ship), built offline from
    the BPE merges open_clip carries, as CLIP's SimpleTokenizer builds its vocabulary."""
    bpe = Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
    with gzip.open(bpe, "rt", encoding="utf-8") as fh:
        merges = fh.read().split("\n")[1 : 49152 - 256 - 2 + 1]
    vocab = list(open_clip.tokenizer.bytes_to_unicode().values())  # CLIP's byte -> character table
    vocab += [v + "</w>" for v in vocab] + ["".join(m.split()) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    assert len(vocab) == 49408
    (folder / "vocab.json").write_text(json.dumps({token: i for i, token in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")


def case(folder: Path):
    """The inputs (as the backbone receives them), the tiny models and tokenizer, their direct outputs; a
    missing environment fails the test (not a skip: nothing else runs the real package)."""
    python = env_python("languagebind")
    g = torch.Generator().manual_seed(0)

    def levels(*shape: int) -> torch.Tensor:  # k/255: exact in a PNG
        return torch.randint(0, 256, shape, generator=g).float() / 255

    views = ViewConfig(point_size=160)  # the depth renders are resized by the model's transform
    batch = {
        "image": levels(2, 3, 240, 300),
        "video": levels(2, 10, 3, 120, 160),
        "thermal": levels(2, 1, 200, 260),
        "point": torch.rand(2, 300, 3, generator=g) * 2 - 1,
        "audio": chirps(torch.tensor([[200.0], [900.0]]), 4.3, g),
    }
    np.savez(
        folder / "inputs.npz",
        image=batch["image"].numpy(),
        audio=batch["audio"].numpy(),
        audio_rate=np.int64(AUDIO_RATE),
        video=apply_view("video", batch["video"], views).numpy(),
        thermal=apply_view("thermal", batch["thermal"], views)[:, 0].numpy(),
        depth=apply_view("point", batch["point"], views).numpy(),
    )  # (2, 6, 3, 160, 160) the script's input
    (folder / "texts.json").write_text(json.dumps(TEXTS))
    (folder / "model.json").write_text(json.dumps(TINY))
    write_clip_vocabulary(folder)
    direct = direct_outputs(python, DIRECT, folder)
    return batch, views, direct


def test_the_languagebind_backbone_equals_the_real_models_own_outputs(tmp_path):
    folder = tmp_path / "case"
    folder.mkdir()
    batch, views, direct = case(folder)
    s = Settings(
        data_root=tmp_path,
        backbone="languagebind",
        backbone_model=str(folder),
        device="cpu",
        batch_size=4,
        views=views,
        external=ExternalConfig(venv_root=str(venv_root())),
    )
    backbone = load_backbone(s, "image")
    runner = SubprocessRunner()
    with using_runner(runner):
        assert_equal_to_direct(backbone, batch, direct, "LanguageBind")
    assert_each_model_loaded_once(runner, "languagebind", 5)
