"""The imagebind and languagebind backbones through the shipped scripts, in real child interpreters whose model
packages are stand-ins (tests/core/encoders/external/standins): our side (views, files, vectors) and the scripts'
request handling and preprocessing (the stand-ins assert the input shapes ImageBind and LanguageBind take)."""

from __future__ import annotations

import json

import pytest
import torch

from unibind_core.core.errors import ConfigError
from unibind_core.core.progress import reporting
from unibind_core.core.settings import Settings
from unibind_core.encoders.backbone.imagebind import ImageBindBackbone
from unibind_core.encoders.backbone.languagebind import LanguageBindBackbone
from unibind_core.encoders.backbone.select import load_backbone
from unibind_core.encoders.external.envs import ExternalConfig


@pytest.fixture(scope="module")
def imagebind_weights(tmp_path_factory):
    """A state dict of the stand-in model (the script loads it through `weights`) and a JSON model config."""
    import importlib.util

    from tests.helpers.external_envs import STANDINS

    spec = importlib.util.spec_from_file_location("standin_ib", STANDINS / "imagebind/models/imagebind_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder = tmp_path_factory.mktemp("imagebind")
    torch.save(module.ImageBindModel(out_embed_dim=8).state_dict(), folder / "small.pth")
    (folder / "small.json").write_text(json.dumps({"out_embed_dim": 8}))
    return folder


@pytest.mark.slow  # a worker in a stand-in venv: ~3 s
def test_imagebind_embeds_viewed_point_clouds_and_texts_in_one_space(venv_root, imagebind_weights, tmp_path):
    s = Settings(
        data_root=tmp_path,
        backbone="imagebind",
        backbone_model=str(imagebind_weights / "small.json"),
        backbone_weights=str(imagebind_weights / "small.pth"),
        device="cpu",
        batch_size=2,
        external=ExternalConfig(venv_root=str(venv_root)),
    )
    backbone = load_backbone(s, "point")
    assert isinstance(backbone, ImageBindBackbone) and backbone.id.startswith("imagebind:small.json:")
    clouds = torch.rand(3, 200, 3) * 2 - 1
    clouds[2] = clouds[0]
    events = []
    with reporting(events.append):
        vectors = backbone.embed("point", clouds)  # rendered depth views -> (3, V, 1, 224, 224) in the script
    assert vectors.shape == (3, 8) and torch.allclose(vectors.norm(dim=1), torch.ones(3), atol=1e-5)
    assert torch.allclose(vectors[0], vectors[2], atol=1e-6) and not torch.allclose(vectors[0], vectors[1])
    lines = [e.line() for e in events]
    assert any("embedded 3 depth rows" in line for line in lines), lines  # the script's own log line
    assert events[-1].message is not None or events[-1].finished
    texts = backbone.embed_text(["a dog", "a cat", "a dog"])
    assert texts.shape == (3, 8) and torch.allclose(texts[0], texts[2]) and backbone.dim == 8
    assert not list((tmp_path / "cache" / "external" / "imagebind").iterdir())  # work folders removed


@pytest.mark.slow  # a worker in a stand-in venv: ~3 s
def test_languagebind_loads_each_modality_from_its_folder(venv_root, tmp_path):
    model = tmp_path / "languagebind"
    for modality, extra in {"image": {}, "video": {"num_frames": 4}}.items():
        (model / modality).mkdir(parents=True)
        (model / modality / "config.json").write_text(
            json.dumps({"modality": modality, "vision_config": {"seed": 1, **extra}})
        )
    backbone = LanguageBindBackbone(
        str(model),
        device="cpu",
        batch_size=2,
        work_root=tmp_path / "work",
        external=ExternalConfig(venv_root=str(venv_root)),
    )
    clips = torch.rand(2, 6, 3, 32, 32)  # (B, T, C, S, S): 4 of 6 frames reach the model as (B, 3, 4, 224, 224)
    video = backbone.embed("video", clips)
    assert video.shape == (2, 12) and torch.allclose(video.norm(dim=1), torch.ones(2), atol=1e-5)
    text = backbone.embed_text(["a dog barking"])
    assert text.shape == (1, 12)
    with pytest.raises(ConfigError, match="does not embed modality 'tabular'"):
        backbone.embed("tabular", clips)
