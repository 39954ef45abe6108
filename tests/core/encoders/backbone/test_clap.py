"""The clap backbone on a tiny ClapModel + ClapProcessor loaded from a local save_pretrained folder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unibind_core.core.errors import ConfigError
from unibind_core.encoders.backbone.clap import ClapBackbone
from unibind_core.encoders.backbone.hf_clip import unwrap


def _tones(rate: int, seconds: float, freqs=(440.0, 1000.0, 2500.0)) -> torch.Tensor:
    t = torch.arange(int(rate * seconds)) / rate
    return torch.stack([0.5 * torch.sin(2 * torch.pi * f * t) for f in freqs])  # (B, L)


def test_audio_at_the_loaders_rate_is_resampled_to_the_models(clap_backbone):
    clips = _tones(16000, 2.0)  # 16 kHz, 2 s: longer than the model's 1 s at 8 kHz
    waves = clap_backbone.waveforms(clips, {"sample_rate": 16000})
    assert [len(w) for w in waves] == [16000] * 3  # resampled to 8 kHz, whole: the feature extractor truncates
    spectrum = np.abs(np.fft.rfft(waves[1]))
    peak_hz = np.argmax(spectrum) * 8000 / len(waves[1])
    assert peak_hz == pytest.approx(1000, abs=2)  # the 1 kHz tone survives at its frequency
    short = clap_backbone.waveforms(_tones(8000, 0.5)[:1], {"sample_rate": 8000})
    assert len(short[0]) == 4000  # shorter clips are left to the feature extractor's own padding
    assert clap_backbone.preprocess(_tones(8000, 0.5), {"sample_rate": 8000})["input_features"].shape[:2] == (3, 1)


def test_audio_and_text_give_unit_vectors_deterministically(clap_backbone):
    clips = _tones(16000, 1.0)
    z = clap_backbone.embed("audio", clips, {"sample_rate": 16000})
    assert z.shape == (3, clap_backbone.dim) == (3, 16)
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(3))
    torch.testing.assert_close(clap_backbone.embed("audio", clips.clone(), {"sample_rate": 16000}), z, rtol=0, atol=0)
    t = clap_backbone.embed_text(["a dog barking", "rain"])
    assert t.shape == (2, 16)
    torch.testing.assert_close(t.norm(dim=-1), torch.ones(2))
    with pytest.raises(ConfigError, match="does not embed modality 'image'"):
        clap_backbone.embed("image", torch.rand(1, 3, 8, 8))


def test_embeddings_equal_the_model_on_the_processors_inputs(tiny_clap, clap_backbone):
    from transformers import ClapModel, ClapProcessor

    model, processor = ClapModel.from_pretrained(tiny_clap).eval(), ClapProcessor.from_pretrained(tiny_clap)
    clips = _tones(8000, 1.0)
    with torch.inference_mode():
        inputs = processor(audio=list(clips.numpy()), sampling_rate=8000, return_tensors="pt")
        reference = unwrap(
            model.get_audio_features(input_features=inputs["input_features"], is_longer=inputs["is_longer"])
        )
        text = unwrap(model.get_text_features(**processor(text=["a dog barking"], return_tensors="pt")))
    ours = clap_backbone.embed("audio", clips, {"sample_rate": 8000})
    assert torch.nn.functional.cosine_similarity(ours, reference).min() > 0.9999
    assert torch.nn.functional.cosine_similarity(clap_backbone.embed_text(["a dog barking"]), text).min() > 0.9999


def test_truncation_keeps_the_end_token(clap_backbone):
    ids = clap_backbone.tokenize(["a" * 500])["input_ids"]
    assert ids.shape == (1, clap_backbone.max_length) and ids[0, -1] == clap_backbone.processor.tokenizer.eos_token_id


def test_the_id_changes_with_the_weights(tmp_path, tiny_clap):
    from tiny_models import save_tiny_clap

    from unibind_core.encoders.backbone.base import BackboneChoice

    other = save_tiny_clap(tmp_path, seed=1)
    a, b = (ClapBackbone.identify(BackboneChoice("clap", str(p))) for p in (tiny_clap, other))
    assert a.rsplit(":", 1)[1] != b.rsplit(":", 1)[1]
    assert ClapBackbone(str(other), device="cpu").id == b


def test_hub_ids_and_the_missing_model_error_are_as_before_the_shared_helper(tiny_clap):
    from unibind_core.encoders.backbone.base import BackboneChoice, backbone_id

    assert (
        ClapBackbone.identify(BackboneChoice("clap", "laion/clap-htsat-unfused"))
        == "clap:laion/clap-htsat-unfused:main"
    )
    assert (
        ClapBackbone.identify(BackboneChoice("clap", "laion/clap-htsat-unfused", "r1"))
        == "clap:laion/clap-htsat-unfused:r1"
    )
    assert ClapBackbone.identify(BackboneChoice("clap", str(tiny_clap))) == backbone_id(
        "clap", str(tiny_clap), str(tiny_clap)
    )  # a folder: its content hash, as caches expect
    with pytest.raises(
        ConfigError, match="^backbone clap needs backbone_model: a hub id or a local save_pretrained folder$"
    ):
        ClapBackbone(None)
