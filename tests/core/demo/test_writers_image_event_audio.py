"""Demo writers for Caltech-101 images, N-Caltech101 events and ESC-50 keypad tones."""

from __future__ import annotations

import csv
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unibind_core.data.modalities.events_format import decode_events
from unibind_core.demo.digits import DIGIT_NAMES, load_demo_digits
from unibind_core.demo.writers import caltech101, esc50, ncaltech101

WRITERS = {"caltech101": caltech101.write, "ncaltech101": ncaltech101.write, "esc50": esc50.write}


@pytest.fixture(scope="module")
def digits():
    return load_demo_digits(max_per_class=3)


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_same_seed_same_bytes_other_seed_other_bytes(fmt, digits, tmp_path):
    a = WRITERS[fmt](tmp_path / "a", digits, np.random.default_rng(7))
    b = WRITERS[fmt](tmp_path / "b", digits, np.random.default_rng(7))
    WRITERS[fmt](tmp_path / "c", digits, np.random.default_rng(8))
    assert a == b
    assert files_under(tmp_path / "a") == files_under(tmp_path / "b")
    assert files_under(tmp_path / "a") != files_under(tmp_path / "c")
    assert not [p for p in (tmp_path / "a").rglob("*.tmp")]  # atomic writes leave no temporaries


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_a_caption_for_every_sample_file_naming_its_digit(fmt, digits, tmp_path):
    captions = WRITERS[fmt](tmp_path, digits, np.random.default_rng(0))
    on_disk = {p for p in files_under(tmp_path) if not p.startswith("meta/")}
    assert set(captions) == on_disk and len(captions) == len(digits)
    for path, text in captions.items():
        folder_or_target = Path(path).parent.name if fmt != "esc50" else DIGIT_NAMES[int(Path(path).stem[-1])]
        assert f" {folder_or_target}" in text, (path, text)


def test_caltech101_layout_and_images(digits, tmp_path):
    captions = caltech101.write(tmp_path, digits, np.random.default_rng(0))
    for name in DIGIT_NAMES:
        files = sorted(p.name for p in (tmp_path / "101_ObjectCategories" / name).iterdir())
        assert files == ["image_0001.jpg", "image_0002.jpg", "image_0003.jpg"]
    with Image.open(tmp_path / "101_ObjectCategories/seven/image_0002.jpg") as img:
        assert (img.format, img.mode, img.size) == ("JPEG", "L", (32, 32))
        pixels = np.asarray(img, dtype=np.float32)
    assert pixels.min() < 120 < 180 < pixels.max()  # dark ink on light paper
    assert "seven" in captions["101_ObjectCategories/seven/image_0002.jpg"]


def test_ncaltech101_pairs_with_caltech101_and_decodes_to_saccades(digits, tmp_path):
    images = caltech101.write(tmp_path / "img", digits, np.random.default_rng(0))
    events = ncaltech101.write(tmp_path / "ev", digits, np.random.default_rng(0))

    def strip(paths, root, suffix):
        return {p[len(root) + 1 : -len(suffix)] for p in paths}

    assert strip(images, "101_ObjectCategories", ".jpg") == strip(events, "Caltech101", ".bin")
    for relative in events:
        ev = decode_events((tmp_path / "ev" / relative).read_bytes())
        assert len(ev["t"]) > 300
        assert np.all(np.diff(ev["t"]) >= 0)  # sorted by time
        assert 250_000 < ev["t"].max() <= 320_000  # three saccades of ~100 ms
        assert ev["x"].max() < 34 and ev["y"].max() < 34
        assert 0.25 < ev["p"].mean() < 0.75  # both polarities


def test_ncaltech101_events_trace_the_digit(digits, tmp_path):
    """Most events fall on the digit's (moving) strokes, not on the blank sensor around it."""
    ncaltech101.write(tmp_path, digits, np.random.default_rng(0))
    i = int(np.flatnonzero(digits.labels == 1)[0])
    ev = decode_events((tmp_path / "Caltech101/one/image_0001.bin").read_bytes())
    ink = caltech101.upscale(digits.images[i], 24) > 0.2
    near = np.zeros((34, 34), bool)
    near[5:29, 5:29] = ink
    near = np.logical_or.reduce([np.roll(near, (dy, dx), (0, 1)) for dy in range(-3, 4) for dx in range(-3, 4)])
    assert near[ev["y"], ev["x"]].mean() > 0.9


def peak(spectrum: np.ndarray, freqs: np.ndarray, low: float, high: float) -> float:
    """The strongest frequency between `low` and `high` Hz."""
    band = (freqs > low) & (freqs < high)
    return float(freqs[band][np.argmax(spectrum[band])])


def test_esc50_layout_metadata_and_dtmf_tones(digits, tmp_path):
    captions = esc50.write(tmp_path, digits, np.random.default_rng(0))
    with open(tmp_path / "meta/esc50.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["filename", "fold", "target", "category", "esc10", "src_file", "take"]
    assert [r["filename"] for r in rows] == [Path(p).name for p in captions]
    for i, row in enumerate(rows):
        assert row["fold"] == str(i % 5 + 1) and row["target"] == str(digits.labels[i])
        assert row["category"] == DIGIT_NAMES[digits.labels[i]] and (row["esc10"], row["take"]) == ("False", "A")
        assert row["filename"] == f"{row['fold']}-{row['src_file']}-A-{row['target']}.wav"
        with wave.open(str(tmp_path / "audio" / row["filename"])) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (1, 2, 8000, 4000)
            samples = np.frombuffer(w.readframes(4000), dtype="<i2").astype(np.float64)
        spectrum = np.abs(np.fft.rfft(samples))
        freqs = np.fft.rfftfreq(4000, 1 / 8000)
        low, high = esc50.dtmf_frequencies(int(row["target"]))
        assert peak(spectrum, freqs, 600, 1000) == pytest.approx(low, rel=0.03)
        assert peak(spectrum, freqs, 1150, 1550) == pytest.approx(high, rel=0.03)
