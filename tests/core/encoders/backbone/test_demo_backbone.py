from __future__ import annotations

import numpy as np
import pytest
import torch

from unibind_core.encoders.backbone.demo import DemoBackbone, DemoEncoders, save_encoders
from unibind_core.encoders.backbone.pretrain import ModalityData, PretrainConfig, pretrain_demo_encoders
from unibind_core.encoders.backbone.stems import DEMO_STEMS

SHAPES = {
    "image": (1, 16, 16),
    "thermal": (1, 16, 16),
    "event": (2, 32, 32),
    "video": (4, 1, 16, 16),
    "audio": (4000,),
    "point": (128, 3),
}


@pytest.mark.parametrize("modality", sorted(DEMO_STEMS))
def test_every_modality_maps_its_loader_shape_to_unit_vectors(modality):
    model = DemoEncoders([modality], dim=24)
    z = model(modality, torch.rand(5, *SHAPES[modality]))
    assert z.shape == (5, 24)
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(5))


def test_unknown_modality_is_named():
    with pytest.raises(KeyError, match="no encoder for modality 'smell'"):
        DemoEncoders(["smell"], dim=8)


def _blobs(n: int, shape: tuple, seed: int) -> tuple[torch.Tensor, tuple[str, ...]]:
    """Two noisy classes: brighter inputs for images, a 1 kHz vs a 2 kHz tone (8 kHz rate) for audio."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    noise = torch.rand(n, *shape, generator=g) * 0.5
    if len(shape) == 1:
        t = torch.arange(shape[0]) / 8000
        return noise + torch.sin(2 * torch.pi * (1000 + 1000 * y[:, None]) * t), tuple(
            "on" if v else "off" for v in y.tolist()
        )
    return noise + y.view(-1, *[1] * len(shape)) * 0.5, tuple("on" if v else "off" for v in y.tolist())


def test_image_centric_pretraining_binds_other_modalities_through_images(tmp_path):
    text = {"off": np.eye(8, dtype=np.float32)[0], "on": np.eye(8, dtype=np.float32)[1]}
    image = ModalityData(*_blobs(64, SHAPES["image"], 0))
    audio = ModalityData(*_blobs(64, SHAPES["audio"], 1))
    model, losses = pretrain_demo_encoders(
        {"image": image, "audio": audio}, text, PretrainConfig(epochs_anchor=15, epochs_bind=15, batch_size=16)
    )
    assert losses["image"] < 0.5 and losses["audio"] < 0.5
    save_encoders(model, tmp_path / "w.safetensors")
    backbone = DemoBackbone(str(tmp_path / "w.safetensors"))
    x, names = _blobs(32, SHAPES["audio"], 2)
    z = backbone.embed("audio", x).numpy()
    pred = (z @ np.stack([text["off"], text["on"]]).T).argmax(1)  # audio reaches text through images only
    assert (pred == np.array([n == "on" for n in names])).mean() > 0.9


def test_pretraining_refuses_data_without_images():
    with pytest.raises(ValueError, match="needs 'image'"):
        pretrain_demo_encoders({"audio": ModalityData(*_blobs(4, SHAPES["audio"], 0))}, {"on": np.ones(4, np.float32)})


def test_the_demo_backbone_outside_the_demo_profile_names_the_real_ones(tmp_path):
    from unibind_core.core.errors import ConfigError
    from unibind_core.core.settings import Settings
    from unibind_core.encoders.backbone.select import load_backbone

    s = Settings(data_root=tmp_path, profile="paper")
    with pytest.raises(
        ConfigError, match="demo backbone is trained on the demo world only.*open_clip, hf_clip or clap"
    ):
        load_backbone(s, "image")
