"""The hf_clip backbone on a tiny CLIPModel + CLIPProcessor loaded from a local save_pretrained folder."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from tiny_models import save_tiny_hf_clip

from unibind_core.core.errors import ConfigError
from unibind_core.encoders.backbone.base import BackboneChoice
from unibind_core.encoders.backbone.hf_clip import HfClipBackbone, unwrap

SHAPES = {
    "image": (3, 3, 32, 32),
    "video": (2, 4, 1, 16, 16),
    "event": (2, 2, 32, 32),
    "thermal": (2, 1, 16, 16),
    "point": (2, 128, 3),
}


@pytest.mark.parametrize("modality", sorted(SHAPES))
def test_every_viewed_modality_gives_unit_vectors_of_the_projection_size(hf_clip_backbone, modality):
    x = torch.rand(*SHAPES[modality], generator=torch.Generator().manual_seed(2))
    z = hf_clip_backbone.embed(modality, x)
    assert z.shape == (len(x), 24)  # projection_dim, not the towers' hidden size (32)
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(len(x)))
    torch.testing.assert_close(hf_clip_backbone.embed(modality, x.clone()), z, rtol=0, atol=0)


def test_embeddings_equal_the_model_on_the_processors_own_inputs(tiny_hf_clip, hf_clip_backbone):
    from transformers import CLIPModel, CLIPProcessor

    model, processor = CLIPModel.from_pretrained(tiny_hf_clip).eval(), CLIPProcessor.from_pretrained(tiny_hf_clip)
    pixels = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    inputs = processor(images=[Image.fromarray(p) for p in pixels], return_tensors="pt")
    with torch.inference_mode():
        reference = unwrap(model.get_image_features(pixel_values=inputs["pixel_values"]))
        texts = processor(text=["a photo of a cat", "a dog"], padding=True, return_tensors="pt")
        text_reference = unwrap(model.get_text_features(**texts))
    ours = hf_clip_backbone.embed("image", torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255)
    assert torch.nn.functional.cosine_similarity(ours, reference).min() > 0.9999
    ours_text = hf_clip_backbone.embed_text(["a photo of a cat", "a dog"])
    assert torch.nn.functional.cosine_similarity(ours_text, text_reference).min() > 0.9999


def test_truncation_keeps_the_end_token(hf_clip_backbone):
    ids = hf_clip_backbone.tokenize(["word " * 200])["input_ids"]
    assert ids.shape == (1, 77) and ids[0, -1] == hf_clip_backbone.processor.tokenizer.eos_token_id
    z = hf_clip_backbone.embed_text(["word " * 200, "word " * 300])
    torch.testing.assert_close(z[0], z[1])


def test_the_id_follows_the_folders_weights(tmp_path, tiny_hf_clip):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_hf_clip, copy)
    other = save_tiny_hf_clip(tmp_path, seed=1)
    ids = [HfClipBackbone.identify(BackboneChoice("hf_clip", str(p))) for p in (tiny_hf_clip, copy, other)]
    hashes = [i.rsplit(":", 1)[1] for i in ids]
    assert hashes[0] == hashes[1] != hashes[2]  # the weights hash follows content; the folder name is shown
    assert ids[0] == f"hf_clip:{tiny_hf_clip.name}:{hashes[0]}"
    assert (
        HfClipBackbone.identify(BackboneChoice("hf_clip", "openai/clip-vit-base-patch32", "abc123"))
        == "hf_clip:openai/clip-vit-base-patch32:abc123"
    )
    with pytest.raises(ConfigError, match="needs backbone_model"):
        HfClipBackbone(None)


def test_unwrap_accepts_tensors_and_output_objects():
    from transformers.modeling_outputs import BaseModelOutputWithPooling

    t = torch.ones(2, 3)
    assert unwrap(t) is t
    assert unwrap(BaseModelOutputWithPooling(last_hidden_state=torch.zeros(2, 5, 4), pooler_output=t)) is t
