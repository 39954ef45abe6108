"""Decoded, not model-resized: the loaders' native-size outputs (what image-text backbones ask for), their
trip through the decoded-input cache as a list of per-sample tensors, and the project's one resampler."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import torch
from PIL import Image
from scipy.io import wavfile
from scipy.signal import resample_poly

from unibind_core.data.benchmarks.spec import BenchmarkSpec
from unibind_core.data.decoding import cached_inputs, cached_rows, embed_inputs, stack_samples
from unibind_core.data.modalities import load_sample
from unibind_core.data.modalities.audio import resample


def _manifest(paths: list[str]) -> pa.Table:
    n = len(paths)
    return pa.table({"sample_id": paths, "path": paths, "split": ["test"] * n, "class_index": list(range(n)),
                     "box": pa.nulls(n, pa.list_(pa.int32()))})


def test_images_decode_at_their_own_size_as_uint8_and_16_bit_by_full_range(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (30, 50, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "wide.png")
    Image.fromarray(np.full((20, 10), 32768, np.uint16)).save(tmp_path / "deep.png")
    wide = load_sample("image", tmp_path, {"path": "wide.png"}, size=None)
    assert wide.dtype == torch.uint8 and wide.shape == (3, 30, 50)
    assert torch.equal(wide, torch.from_numpy(rgb).permute(2, 0, 1))  # pixels as stored, not resized
    crop = load_sample("thermal", tmp_path, {"path": "wide.png", "box": [5, 2, 25, 12]}, size=None, channels=1)
    assert crop.shape == (1, 10, 20)
    deep = load_sample("image", tmp_path, {"path": "deep.png"}, size=None)
    assert deep.dtype == torch.float32 and deep.shape == (3, 20, 10)
    torch.testing.assert_close(deep, torch.full((3, 20, 10), 32768 / 65535))  # not clipped to 8 bits
    squashed = load_sample("image", tmp_path, {"path": "wide.png"})  # the default the demo encoders read
    assert squashed.dtype == torch.float32 and squashed.shape == (3, 224, 224)


def test_the_decoded_input_cache_keeps_samples_of_different_sizes_as_they_are(tmp_path):
    sizes = [(12, 7), (5, 9), (12, 7)]
    for k, (h, w) in enumerate(sizes):
        Image.fromarray(np.full((h, w, 3), 40 * k, np.uint8)).save(tmp_path / f"{k}.png")
    (tmp_path / "bad.png").write_bytes(b"not a png")
    manifest = _manifest(["0.png", "bad.png", "1.png", "2.png"])
    spec = BenchmarkSpec(name="mixed", modality="image", reader="-", root=str(tmp_path), loader_options={"size": None})
    cache = tmp_path / "cache"
    decoded = cached_inputs(spec, tmp_path, manifest, cache, key="k1")
    assert isinstance(decoded.inputs, list) and [tuple(x.shape[1:]) for x in decoded.inputs] == sizes
    assert decoded.ok.tolist() == [True, False, True, True] and decoded.failures[0]["path"] == "bad.png"
    for k in range(3):
        (tmp_path / f"{k}.png").unlink()  # from here on only the cache can answer
    again = cached_inputs(spec, tmp_path, manifest, cache, key="k1")
    assert all(a.dtype == torch.uint8 and torch.equal(a, b) for a, b in zip(again.inputs, decoded.inputs))
    part = cached_rows(spec, manifest, cache, "k1", 1, 3)  # rows 1..2: the bad file and the 5x9 image
    assert part.ok.tolist() == [False, True] and len(part.inputs) == 1
    assert torch.equal(part.inputs[0], decoded.inputs[1]) and [f["path"] for f in part.failures] == ["bad.png"]


def test_samples_stack_only_when_shape_and_dtype_agree():
    same = [torch.zeros(3, 4, 4), torch.ones(3, 4, 4)]
    assert isinstance(stack_samples(same), torch.Tensor) and stack_samples(same).shape == (2, 3, 4, 4)
    assert isinstance(stack_samples([torch.zeros(3, 4, 4), torch.zeros(3, 5, 4)]), list)
    assert isinstance(stack_samples([torch.zeros(3, 4, 4), torch.zeros(3, 4, 4, dtype=torch.uint8)]), list)


def test_a_list_of_samples_is_embedded_in_batches_in_order(tmp_path):
    class Lengths:  # the smallest Backbone: each sample's element count as its vector
        dim = 1

        def embed(self, modality, batch, meta=None):
            assert isinstance(batch, list) and len(batch) <= 2
            return torch.tensor([[float(x.numel())] for x in batch])

    samples = [torch.zeros(n) for n in (3, 1, 4, 1, 5)]
    assert embed_inputs(Lengths(), "audio", samples, batch_size=2)[:, 0].tolist() == [3, 1, 4, 1, 5]


def test_whole_clips_at_the_asked_rate_and_the_resampler_is_resample_polys_default(tmp_path):
    rate, t = 44100, np.arange(44100 * 2) / 44100
    tone = 0.5 * np.sin(2 * np.pi * 1000 * t)
    wavfile.write(tmp_path / "a.wav", rate, (tone * 32767).astype(np.int16))
    clip = load_sample("audio", tmp_path, {"path": "a.wav"}, sample_rate=48000, num_samples=None)
    assert clip.shape == (96000,)  # 2 s at 48 kHz, neither cropped nor padded
    spectrum = np.abs(np.fft.rfft(clip.numpy()))
    assert np.argmax(spectrum) * 48000 / len(clip) == pytest.approx(1000, abs=1)
    ours = resample(tone.astype(np.float32), 44100, 48000)
    np.testing.assert_allclose(ours, resample_poly(tone, 160, 147), atol=1e-6)  # Kaiser(5.0), scipy's default
    assert resample(ours, 48000, 48000) is ours and len(resample(tone, 44100, 8000)) == 16000
