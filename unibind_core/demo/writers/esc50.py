"""Keypad tones in ESC-50's layout: `audio/{fold}-{src_id}-{take}-{target}.wav` and `meta/esc50.csv`.

Each digit becomes the DTMF tone of its key (a row and a column frequency), with random duration,
onset, loudness, +-2% detuning and background hiss at a random signal-to-noise ratio, so the class
is in the audio but not trivially so. Clips are 0.5 s of 16-bit mono PCM at 8 kHz.
"""

from __future__ import annotations

import csv
import io
import re
import wave
from pathlib import Path

import numpy as np

from unibind_core.demo.digits import DemoDigits
from unibind_core.storage.io import write_bytes

SAMPLE_RATE = 8000
CLIP_SECONDS = 0.5
TONE_SECONDS = (0.2, 0.45)
DETUNE = 0.02
SNR_DB = (-12.0, 25.0)
DISTRACTOR = (0.5, 0.2, 0.6)  # probability of a second, quieter key pressed over it, and its relative level
NOISY_DB = 10.0  # below this SNR a caption mentions the hiss
RAMP_SECONDS = 0.005  # fade in/out, so tone edges do not click
CSV_HEADER = ("filename", "fold", "target", "category", "esc10", "src_file", "take")
ROWS, COLUMNS = (697.0, 770.0, 852.0, 941.0), (1209.0, 1336.0, 1477.0)
KEYPAD = {
    1: (0, 0),
    2: (0, 1),
    3: (0, 2),
    4: (1, 0),
    5: (1, 1),
    6: (1, 2),
    7: (2, 0),
    8: (2, 1),
    9: (2, 2),
    0: (3, 1),
}  # digit -> (row, column) on a telephone keypad


def dtmf_frequencies(digit: int) -> tuple[float, float]:
    row, column = KEYPAD[digit]
    return ROWS[row], COLUMNS[column]


def tone(digit: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, float]]:
    """One clip in [-1, 1] and the draws a caption describes (duration s, amplitude, SNR dB)."""
    n = int(SAMPLE_RATE * CLIP_SECONDS)
    duration = rng.uniform(*TONE_SECONDS)
    length = int(duration * SAMPLE_RATE)
    onset = int(rng.integers(0, n - length + 1))
    amplitude = rng.uniform(0.15, 0.9)
    t = np.arange(length) / SAMPLE_RATE
    freqs = np.array(dtmf_frequencies(digit)) * rng.uniform(1 - DETUNE, 1 + DETUNE, 2)
    phases = rng.uniform(0, 2 * np.pi, 2)
    signal = np.sin(2 * np.pi * freqs[:, None] * t + phases[:, None]).sum(axis=0) / 2
    if rng.random() < DISTRACTOR[0]:  # crosstalk from another key makes the task less than trivial
        other = np.array(dtmf_frequencies(int(rng.choice([d for d in KEYPAD if d != digit]))))
        level = rng.uniform(*DISTRACTOR[1:])
        signal = signal + level * np.sin(2 * np.pi * other[:, None] * t).sum(axis=0) / 2
    ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / RAMP_SECONDS)
    clip = np.zeros(n)
    clip[onset : onset + length] = amplitude * signal * ramp
    snr_db = rng.uniform(*SNR_DB)
    noise_rms = np.sqrt(np.mean(clip[onset : onset + length] ** 2)) / 10 ** (snr_db / 20)
    clip += rng.normal(0.0, noise_rms, n)
    return np.clip(clip, -1.0, 1.0), {"duration": duration, "amplitude": amplitude, "snr_db": snr_db}


def wav_bytes(clip: np.ndarray) -> bytes:
    """[-1, 1] float samples -> a 16-bit PCM mono WAV file."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(np.round(clip * 32767).astype("<i2").tobytes())
    return buf.getvalue()


def caption(name: str, draws: dict[str, float], rng: np.random.Generator) -> str:
    length = "short" if draws["duration"] < 0.3 else ("long" if draws["duration"] > 0.38 else "brief")
    loudness = "loud" if draws["amplitude"] > 0.6 else ("quiet" if draws["amplitude"] < 0.35 else "clear")
    noise = "with background hiss" if draws["snr_db"] < NOISY_DB else "on a quiet line"
    if rng.random() < 0.5:
        return f"a {length}, {loudness} keypad tone for {name} {noise}"
    return f"the {loudness} dual tone of the {name} key on a phone, {length}, {noise}"


def source_number(digit_id: str, index: int) -> int:
    """ESC-50's src_id is a numeric source clip id; derive one from the stable digit id."""
    found = re.search(r"\d+", digit_id)
    return 100000 + (int(found.group()) if found else index)


def metadata_csv(rows: list[tuple]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def write(root: Path, digits: DemoDigits, rng: np.random.Generator) -> dict[str, str]:
    """Write the dataset under `root`; returns {"audio/<file>": caption} for every clip."""
    root = Path(root)
    captions, rows = {}, []
    for i in range(len(digits)):
        target, name, fold = int(digits.labels[i]), digits.name(i), i % 5 + 1
        src = source_number(digits.ids[i], i)
        filename = f"{fold}-{src}-A-{target}.wav"
        clip, draws = tone(target, rng)
        write_bytes(wav_bytes(clip), root / "audio" / filename)
        captions[f"audio/{filename}"] = caption(name, draws, rng)
        rows.append((filename, fold, target, name, "False", src, "A"))
    write_bytes(metadata_csv(rows), root / "meta" / "esc50.csv")
    return captions
