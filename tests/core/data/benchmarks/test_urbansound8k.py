"""UrbanSound8K reader on a fixture in the real layout, with WAVs in the formats Freesound uploads come in:
8/16/24-bit PCM, 32-bit float, IMA ADPCM, mono and stereo, 11.025 to 96 kHz; and broken ones."""
from __future__ import annotations

import re
from pathlib import Path

import av
import numpy as np
import pytest
from scipy.io import wavfile

from unibind_core.data.benchmarks.manifest import DatasetLayoutError
from unibind_core.data.benchmarks.readers.urbansound8k import read
from unibind_core.data.modalities.audio import load
from unibind_core.data.modalities.wav_format import wav_problem
from unibind_core.data.modalities.wav_format import write_pcm24

HEADER = "slice_file_name,fsID,start,end,salience,fold,classID,class\n"
TONE_HZ, SECONDS = 440.0, 0.5


def tone(rate: int, channels: int, amplitude: float = 0.5) -> np.ndarray:
    """(N, C) float in [-1, 1]: a 440 Hz sine, the same on every channel."""
    t = np.arange(int(rate * SECONDS)) / rate
    return np.repeat((amplitude * np.sin(2 * np.pi * TONE_HZ * t))[:, None], channels, axis=1)


def write_adpcm(path: Path, rate: int, signal: np.ndarray) -> None:
    """4-bit IMA ADPCM WAV, encoded by FFmpeg through PyAV."""
    with av.open(str(path), "w", format="wav") as out:
        stream = out.add_stream("adpcm_ima_wav", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray((signal[:, 0] * 32767).astype(np.int16)[None], format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in list(stream.encode(frame)) + list(stream.encode(None)):
            out.mux(packet)


# file name -> (fold, classID, class, writer); writer None = not written by the table loop
def write_pcm16(path: Path) -> None:
    wavfile.write(path, 44100, (tone(44100, 1)[:, 0] * 32767).astype(np.int16))


def write_pcm8(path: Path) -> None:
    wavfile.write(path, 11025, (tone(11025, 1)[:, 0] * 127 + 128).astype(np.uint8))  # 8-bit WAV is unsigned


CLIPS = {
    "100032-3-0-0.wav": (1, 3, "dog_bark", write_pcm16),
    "100263-2-0-117.wav": (2, 2, "children_playing", lambda p: write_pcm24(p, 48000, tone(48000, 2))),
    "101415-3-0-2.wav": (9, 3, "dog_bark", write_pcm8),
    "102305-6-0-0.wav": (10, 6, "gun_shot", lambda p: wavfile.write(p, 96000, tone(96000, 2).astype(np.float32))),
    "102857-5-0-0.wav": (5, 5, "engine_idling", lambda p: write_adpcm(p, 22050, tone(22050, 1))),
    "103074-7-0-0.wav": (3, 7, "jackhammer", "truncated"),
    "103199-4-0-0.wav": (4, 4, "drilling", "garbage"),
    "104327-2-0-14.wav": (4, 2, "children_playing", "empty"),
    "105029-7-2-5.wav": (6, 7, "jackhammer", None),  # listed, never written
}
EXTRA_ROWS = [
    "100032-3-0-0.wav,100032,0.0,0.5,1,1,3,dog_bark",  # line 11: a duplicate
    "106015-5-0-0.wav,106015,0.0,4.0,1,11,5,engine_idling",  # line 12: fold 11
    "../../etc/passwd,1,0,1,1,1,1,car_horn",  # line 13: escapes the fold folder
]
VALID = ["100032-3-0-0", "100263-2-0-117", "101415-3-0-2", "102305-6-0-0", "102857-5-0-0"]


def write_urbansound8k(root: Path) -> Path:
    (root / "metadata").mkdir(parents=True)
    rows = [f"{name},{name.split('-')[0]},0.0,0.5,1,{fold},{cid},{cls}" for name, (fold, cid, cls, _) in CLIPS.items()]
    (root / "metadata" / "UrbanSound8K.csv").write_text(HEADER + "\n".join(rows + EXTRA_ROWS) + "\n")
    for fold in range(1, 11):
        (root / "audio" / f"fold{fold}").mkdir(parents=True)
    for name, (fold, _, _, writer) in CLIPS.items():
        path = root / "audio" / f"fold{fold}" / name
        if callable(writer):
            writer(path)
    good = (root / "audio" / "fold1" / "100032-3-0-0.wav").read_bytes()
    (root / "audio" / "fold3" / "103074-7-0-0.wav").write_bytes(good[: len(good) // 2])  # cut mid-download
    (root / "audio" / "fold4" / "103199-4-0-0.wav").write_bytes(b"ID3\x03" + bytes(200))  # an MP3 renamed .wav
    (root / "audio" / "fold4" / "104327-2-0-14.wav").write_bytes(b"")
    return root


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return write_urbansound8k(tmp_path_factory.mktemp("us8k") / "UrbanSound8K")


def test_reads_every_field_with_the_official_folds(dataset):
    result = read(dataset)
    assert [(c.index, c.key, c.name) for c in result.classes][:3] == [
        (0, "air_conditioner", "air conditioner"), (1, "car_horn", "car horn"),
        (2, "children_playing", "children playing")]
    assert len(result.classes) == 10
    rows = {r["sample_id"]: r for r in result.rows}
    assert sorted(rows) == VALID
    assert rows["100263-2-0-117"] == {"sample_id": "100263-2-0-117", "split": "train", "class_index": 2,
                                      "class_key": "children_playing", "class_name": "children playing",
                                      "path": "audio/fold2/100263-2-0-117.wav"}
    assert {s: r["split"] for s, r in rows.items()} == {"100032-3-0-0": "train", "100263-2-0-117": "train",
                                                        "101415-3-0-2": "eval", "102305-6-0-0": "test",
                                                        "102857-5-0-0": "train"}
    assert read(dataset, test_folds=(1,), eval_folds=()).rows[0]["split"] == "test"


def test_broken_rows_and_clips_are_quarantined_with_reasons(dataset):
    reasons = {q["path"]: q["reason"] for q in read(dataset).quarantine}
    assert set(reasons) == {"audio/fold3/103074-7-0-0.wav", "audio/fold4/103199-4-0-0.wav",
                            "audio/fold4/104327-2-0-14.wav", "audio/fold6/105029-7-2-5.wav",
                            "metadata/UrbanSound8K.csv:12", "metadata/UrbanSound8K.csv:13"} | {
                            "audio/fold1/100032-3-0-0.wav"}
    assert reasons["audio/fold3/103074-7-0-0.wav"].startswith("truncated: the data chunk declares")
    assert reasons["audio/fold4/103199-4-0-0.wav"] == "not a RIFF/WAVE file"
    assert reasons["audio/fold4/104327-2-0-14.wav"] == "empty file (0 bytes)"
    assert "missing" in reasons["audio/fold6/105029-7-2-5.wav"]
    assert reasons["audio/fold1/100032-3-0-0.wav"] == "listed more than once"
    assert "fold 11 is not 1..10" in reasons["metadata/UrbanSound8K.csv:12"]
    assert "bad slice_file_name '../../etc/passwd'" in reasons["metadata/UrbanSound8K.csv:13"]
    unchecked = {q["path"] for q in read(dataset, verify_audio=False).quarantine}
    assert "audio/fold3/103074-7-0-0.wav" not in unchecked  # the structure check is what catches it


@pytest.mark.parametrize("sample_id", VALID)
def test_every_format_loads_as_the_tone_it_holds(dataset, sample_id):
    row = next(r for r in read(dataset).rows if r["sample_id"] == sample_id)
    clip = load(dataset, row, sample_rate=16000, num_samples=16000).numpy()
    assert clip.shape == (16000,) and clip.dtype == np.float32
    active = clip[: int(16000 * SECONDS) - 200]  # the clip is 0.5 s, zero-padded after
    assert np.abs(active).max() == pytest.approx(0.5, abs=0.05)  # scaled by its bit depth, channels averaged
    spectrum = np.abs(np.fft.rfft(active))
    assert np.fft.rfftfreq(len(active), 1 / 16000)[spectrum.argmax()] == pytest.approx(TONE_HZ, abs=5)


def test_loader_names_corrupt_clips(dataset):
    for relative in ("audio/fold3/103074-7-0-0.wav", "audio/fold4/103199-4-0-0.wav"):
        with pytest.raises(ValueError, match=re.escape(relative.split("/")[-1])):
            load(dataset, {"path": relative})
    assert wav_problem(dataset / "audio/fold2/100263-2-0-117.wav") is None


def test_layout_errors_and_unknown_classes(tmp_path):
    with pytest.raises(DatasetLayoutError, match=re.escape(str(tmp_path / "metadata" / "UrbanSound8K.csv"))):
        read(tmp_path)
    (tmp_path / "metadata").mkdir()
    (tmp_path / "metadata" / "UrbanSound8K.csv").write_text("slice_file_name,fold\n")
    with pytest.raises(DatasetLayoutError, match=re.escape(str(tmp_path / "audio"))):
        read(tmp_path)
    (tmp_path / "audio").mkdir()
    with pytest.raises(DatasetLayoutError, match="lacks the column.* classID"):
        read(tmp_path)
    (tmp_path / "metadata" / "UrbanSound8K.csv").write_text(HEADER + "1-1-0-0.wav,1,0,1,1,1,1,bicycle_bell\n")
    with pytest.raises(DatasetLayoutError, match="not in the list: 'bicycle_bell'"):
        read(tmp_path)


def test_resampling_filter_is_designed_once_and_matches_scipys_default():
    from math import gcd

    from scipy.signal import resample_poly

    from unibind_core.data.modalities.audio import resample

    x = np.random.default_rng(0).normal(size=4410).astype(np.float32)
    for rate in (44100, 48000, 22050, 11025):
        g = gcd(rate, 16000)
        expected = resample_poly(x, 16000 // g, rate // g)
        first, again = resample(x, rate, 16000), resample(x, rate, 16000)
        np.testing.assert_allclose(first, expected, atol=1e-5)
        np.testing.assert_array_equal(first, again)  # the cached filter is not scaled in place by a call
