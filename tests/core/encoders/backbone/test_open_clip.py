"""The open_clip backbone on a tiny architecture with random weights loaded from a local checkpoint file."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from tiny_models import TINY_OPEN_CLIP_CFG, save_tiny_open_clip

from unibind_core.core.errors import ConfigError
from unibind_core.encoders.backbone.base import BackboneChoice, BackboneText
from unibind_core.encoders.backbone.open_clip import OpenClipBackbone, resolve
from unibind_core.evaluation.evaluate import template_classifier

LOADER_BATCHES = {  # what each modality's loader yields (unibind_core/data/modalities), as the demo sizes them
    "image": (3, 1, 16, 16),
    "video": (2, 4, 1, 16, 16),
    "event": (2, 2, 32, 32),
    "thermal": (2, 1, 16, 16),
    "point": (2, 256, 3),
}


@pytest.mark.parametrize("modality", sorted(LOADER_BATCHES))
def test_every_viewed_modality_gives_unit_vectors_deterministically(open_clip_backbone, modality):
    x = torch.rand(*LOADER_BATCHES[modality], generator=torch.Generator().manual_seed(1))
    if modality == "point":
        x = x * 2 - 1
    z = open_clip_backbone.embed(modality, x)
    assert z.shape == (x.shape[0], open_clip_backbone.dim) and z.dtype == torch.float32
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(len(z)))
    torch.testing.assert_close(open_clip_backbone.embed(modality, x.clone()), z, rtol=0, atol=0)
    assert not torch.allclose(z[0], z[1])  # different samples, different vectors


def test_audio_is_refused_with_the_modalities_it_embeds(open_clip_backbone):
    with pytest.raises(ConfigError, match=r"does not embed modality 'audio'.*event, image, point, thermal, video"):
        open_clip_backbone.embed("audio", torch.rand(2, 4000))


def test_image_embedding_equals_the_model_on_open_clips_own_preprocessing(tiny_open_clip, open_clip_backbone):
    import open_clip

    name, weights = tiny_open_clip
    model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=str(weights))
    pixels = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    reference = model.eval().encode_image(torch.stack([preprocess(Image.fromarray(p)) for p in pixels]), normalize=True)
    ours = open_clip_backbone.embed("image", torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255)
    assert torch.nn.functional.cosine_similarity(ours, reference.detach()).min() > 0.9999


def test_template_classifier_equals_open_clips_zero_shot_classifier(tiny_open_clip, open_clip_backbone):
    import open_clip

    name, weights = tiny_open_clip
    model = open_clip.create_model(name, pretrained=str(weights)).eval()
    classes, templates = ["cat", "dog", "truck"], [lambda c: f"a photo of a {c}.", lambda c: f"a drawing of a {c}."]
    reference = open_clip.build_zero_shot_classifier(
        model, open_clip.get_tokenizer(name), classes, templates, device="cpu", use_tqdm=False
    )  # (D, C)
    texts = [t(c) for c in classes for t in templates]
    vectors = BackboneText(open_clip_backbone).encode(texts)
    ours = template_classifier(vectors, np.repeat(np.arange(3), 2), 3)  # (C, D)
    assert np.abs(ours - reference.T.numpy()).max() < 1e-5


def test_truncation_to_77_keeps_the_end_token_where_the_text_tower_pools(open_clip_backbone):
    tokens = open_clip_backbone.tokenize(["word " * 200, "short"])
    eot = open_clip_backbone.tokenizer.eot_token_id
    assert tokens.shape == (2, 77)
    assert tokens[0, -1] == eot and (tokens[0] == eot).sum() == 1
    assert tokens[0].argmax() == 76  # open_clip pools at the highest id, the end token
    z = open_clip_backbone.embed_text(["word " * 200, "word " * 300])
    torch.testing.assert_close(z[0], z[1])  # both cut to the same 77 tokens


def test_the_id_follows_the_weights_content_not_their_path(tmp_path, tiny_open_clip):
    name, weights = tiny_open_clip
    same = tmp_path / "copy.pt"
    shutil.copy(weights, same)
    other = save_tiny_open_clip(tmp_path, seed=1)
    ids = [OpenClipBackbone.identify(BackboneChoice("open_clip", name, str(w))) for w in (weights, same, other)]
    assert ids[0] == ids[1] != ids[2]
    assert ids[0].startswith(f"open_clip:{name}:")
    loaded = OpenClipBackbone(name, str(other), device="cpu")
    assert loaded.id == ids[2]


def test_a_local_model_folder_loads_without_naming_the_architecture(tmp_path, tiny_open_clip, open_clip_backbone):
    """The hub layout on disk (open_clip_config.json + open_clip_model.safetensors) as `backbone_weights`."""
    import json

    from safetensors.torch import save_file

    _, weights = tiny_open_clip
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_OPEN_CLIP_CFG, "preprocess_cfg": {}}))
    state = torch.load(weights, weights_only=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(folder / "open_clip_model.safetensors"))
    assert resolve(None, str(folder)) == (f"local-dir:{folder}", None)
    loaded = OpenClipBackbone(None, str(folder), device="cpu")
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(loaded.embed("image", x), open_clip_backbone.embed("image", x))
    torch.testing.assert_close(loaded.embed_text(["a cat"]), open_clip_backbone.embed_text(["a cat"]))


@pytest.mark.parametrize(
    ("model", "weights", "message"),
    [
        (None, None, "needs backbone_model"),
        ("ViT-B-32", None, "needs backbone_weights"),
        ("hf-hub:org/repo", "laion2b_s34b_b79k", "carries its own weights"),
    ],
)
def test_incomplete_configuration_is_a_config_error(model, weights, message):
    with pytest.raises(ConfigError, match=message):
        resolve(model, weights)


def test_a_pretrained_tag_is_passed_to_open_clip_and_names_the_id():
    assert resolve("ViT-B-32", "laion2b_s34b_b79k") == ("ViT-B-32", "laion2b_s34b_b79k")
    assert (
        OpenClipBackbone.identify(BackboneChoice("open_clip", "ViT-B-32", "laion2b_s34b_b79k"))
        == "open_clip:ViT-B-32:laion2b_s34b_b79k"
    )


@pytest.mark.parametrize(
    ("modality", "shape", "views"),
    [
        ("image", (2, 1, 16, 16), 1),
        ("video", (2, 10, 1, 16, 16), 8),
        ("video", (2, 4, 3, 16, 16), 4),
        ("event", (2, 2, 32, 32), 1),
        ("thermal", (2, 3, 40, 40), 1),
        ("point", (2, 256, 3), 6),
    ],
)
def test_each_view_becomes_what_the_image_tower_reads(open_clip_backbone, modality, shape, views):
    """(B, *loader shape) -> (B, V, 3, S, S) at the model's size, normalized with its mean and std."""
    x = open_clip_backbone.preprocess(modality, torch.rand(*shape))
    assert x.shape == (2, views, 3, open_clip_backbone.image_size, open_clip_backbone.image_size)
    mean = torch.tensor(open_clip_backbone.mean).view(3, 1, 1)
    std = torch.tensor(open_clip_backbone.std).view(3, 1, 1)
    pixels = x * std + mean  # back to [0, 1]: the view's images, resized
    assert pixels.min() >= -1e-5 and pixels.max() <= 1 + 1e-5
