"""Image, event and audio loaders: shapes, value ranges, crops, resampling and refusals."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from scipy.io import wavfile

from unibind_core.data.modalities import load_sample
from unibind_core.data.modalities.event import area_matrix
from unibind_core.data.modalities.events_format import encode_events
from unibind_core.data.modalities.image import load_image

# ---- image -----------------------------------------------------------------------------------------------


@pytest.fixture
def halves(tmp_path):
    """40x30 RGB: left half red, right half blue."""
    array = np.zeros((30, 40, 3), np.uint8)
    array[:, :20, 0] = 255
    array[:, 20:, 2] = 255
    Image.fromarray(array).save(tmp_path / "halves.png")
    return tmp_path


def test_image_shapes_and_range(halves):
    rgb = load_sample("image", halves, {"path": "halves.png", "box": None}, size=16, channels=3)
    assert rgb.shape == (3, 16, 16) and rgb.dtype == torch.float32
    assert float(rgb.min()) == 0.0 and float(rgb.max()) == 1.0
    assert float(rgb[0, :, 0].mean()) == 1.0 and float(rgb[2, :, -1].mean()) == 1.0
    gray = load_sample("image", halves, {"path": "halves.png", "box": None}, size=8, channels=1)
    assert gray.shape == (1, 8, 8) and 0.0 < float(gray.min()) < float(gray.max()) < 1.0


def test_image_box_is_cropped_before_resizing(halves):
    blue = load_sample("image", halves, {"path": "halves.png", "box": [22, 0, 40, 30]}, size=12, channels=3)
    assert torch.equal(blue[2], torch.ones(12, 12)) and float(blue[:2].abs().max()) == 0.0
    clipped = load_image(halves / "halves.png", 4, 3, box=(30, -5, 99, 99))  # clipped to the image
    assert float(clipped[2].min()) == 1.0
    with pytest.raises(ValueError, match="outside"):
        load_image(halves / "halves.png", 4, 3, box=(50, 50, 60, 60))


def test_sixteen_bit_images_keep_their_range(tmp_path):
    array = np.full((10, 10), 32768, np.uint16)
    array[:, 5:] = 65535
    Image.fromarray(array).save(tmp_path / "thermal.png")
    image = load_image(tmp_path / "thermal.png", 10, 1)
    assert image[0, 0, 0] == pytest.approx(0.5, abs=1e-3) and image[0, 0, -1] == pytest.approx(1.0)


def test_image_refusals_name_the_file(halves, monkeypatch):
    (halves / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(ValueError, match="broken.jpg"):
        load_sample("image", halves, {"path": "broken.jpg", "box": None})
    with pytest.raises(ValueError, match="escapes"):
        load_sample("image", halves, {"path": "../halves/../../x.png", "box": None})
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # the decompression-bomb guard is left on
    with pytest.raises(ValueError, match="halves.png"):
        load_sample("image", halves, {"path": "halves.png", "box": None}, size=8)


# ---- event -----------------------------------------------------------------------------------------------


def write_events(path, x, y, p):
    path.write_bytes(encode_events(np.array(x), np.array(y), np.arange(len(x)) * 10, np.array(p)))


def test_event_histogram_per_polarity(tmp_path):
    write_events(tmp_path / "e.bin", x=[0, 0, 3, 1, 1, 1], y=[0, 0, 2, 1, 1, 1], p=[1, 1, 0, 0, 0, 1])
    frame = load_sample("event", tmp_path, {"path": "e.bin"}, size=4, sensor_size=4)
    expected = np.zeros((2, 4, 4), np.float32)
    expected[1, 0, 0], expected[0, 2, 3], expected[0, 1, 1], expected[1, 1, 1] = 2, 1, 2, 1
    np.testing.assert_allclose(frame.numpy(), expected / 2)  # channel 0 OFF, 1 ON, scaled by the max


def test_event_sensor_size_inferred_or_given(tmp_path):
    write_events(tmp_path / "e.bin", x=[0, 33, 10], y=[0, 20, 5], p=[1, 0, 1])
    frame = load_sample("event", tmp_path, {"path": "e.bin"}, size=32)
    assert frame.shape == (2, 32, 32) and frame.dtype == torch.float32
    assert float(frame.min()) == 0.0 and float(frame.max()) == 1.0
    assert float(frame[0, -1, -1]) > 0  # the (33, 20) OFF event lands in the far corner of a 34x21 grid
    wide = load_sample("event", tmp_path, {"path": "e.bin"}, size=32, sensor_size=(240, 180))
    assert float(wide[0, -1, -1]) == 0.0 and float(wide[0, 3, 4]) > 0
    (tmp_path / "empty.bin").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.bin"):
        load_sample("event", tmp_path, {"path": "empty.bin"})
    assert float(load_sample("event", tmp_path, {"path": "empty.bin"}, size=8, sensor_size=34).abs().sum()) == 0


@pytest.mark.parametrize(("n_in", "n_out"), [(34, 224), (34, 32), (180, 224), (13, 5)])
def test_area_resize_matches_torch_interpolate(n_in, n_out):
    grid = torch.rand(2, n_in, n_in + 3)
    ours = area_matrix(n_in, n_out) @ grid.numpy() @ area_matrix(n_in + 3, n_out).T
    np.testing.assert_allclose(ours, F.interpolate(grid[None], size=(n_out, n_out), mode="area")[0].numpy(),
                               atol=1e-5)


# ---- audio -----------------------------------------------------------------------------------------------


def test_audio_resampled_from_441khz_stereo_to_8khz_mono(tmp_path):
    t = np.arange(44100) / 44100
    left, right = 0.5 * np.sin(2 * np.pi * 440 * t), np.zeros_like(t)
    wavfile.write(tmp_path / "a.wav", 44100, (np.stack([left, right], 1) * 32767).astype(np.int16))
    clip = load_sample("audio", tmp_path, {"path": "a.wav"}, sample_rate=8000, num_samples=8000)
    assert clip.shape == (8000,) and clip.dtype == torch.float32
    spectrum = np.abs(np.fft.rfft(clip.numpy()))
    assert np.fft.rfftfreq(8000, 1 / 8000)[np.argmax(spectrum)] == 440
    assert float(clip[100:-100].abs().max()) == pytest.approx(0.25, abs=0.01)  # channel average


def test_audio_centre_crop_and_zero_pad(tmp_path):
    wavfile.write(tmp_path / "ramp.wav", 8000, np.linspace(-1, 1, 8000).astype(np.float32))
    crop = load_sample("audio", tmp_path, {"path": "ramp.wav"}, sample_rate=8000, num_samples=4000)
    np.testing.assert_allclose(crop.numpy(), np.linspace(-1, 1, 8000)[2000:6000], atol=1e-6)
    padded = load_sample("audio", tmp_path, {"path": "ramp.wav"}, sample_rate=8000, num_samples=10000)
    assert padded.shape == (10000,) and float(padded[8000:].abs().max()) == 0.0


@pytest.mark.parametrize(("dtype", "full_scale"), [(np.uint8, 255), (np.int16, 32767), (np.int32, 2**31 - 1),
                                                   (np.float32, 1.0)])
def test_audio_sample_types_scale_to_unit_range(tmp_path, dtype, full_scale):
    data = np.zeros(100, dtype)
    data[10] = full_scale
    if dtype == np.uint8:
        data[:] = 128
        data[10] = 255
    wavfile.write(tmp_path / "x.wav", 8000, data)
    clip = load_sample("audio", tmp_path, {"path": "x.wav"}, sample_rate=8000, num_samples=100)
    assert float(clip[10]) == pytest.approx(1.0, abs=0.01) and float(clip[0]) == pytest.approx(0.0, abs=0.01)


def test_audio_refusals_name_the_file(tmp_path):
    (tmp_path / "junk.wav").write_bytes(b"RIFF....WAVEjunk")
    with pytest.raises(ValueError, match="junk.wav"):
        load_sample("audio", tmp_path, {"path": "junk.wav"})
    wavfile.write(tmp_path / "whole.wav", 8000, np.zeros(1000, np.int16))
    (tmp_path / "cut.wav").write_bytes((tmp_path / "whole.wav").read_bytes()[:1001])  # a partial download
    with pytest.raises(ValueError, match="cut.wav.*truncated"):
        load_sample("audio", tmp_path, {"path": "cut.wav"})
    with pytest.raises(ValueError, match="escapes"):
        load_sample("audio", tmp_path, {"path": "/etc/hosts"})
