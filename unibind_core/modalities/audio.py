"""Audio loader: a WAV file -> (L,) mono float32 in [-1, 1] at the backbone's sample rate.

Any integer or float PCM WAV is accepted (ESC-50 ships 44.1 kHz 16-bit; the demo 8 kHz). Resampling is
polyphase (scipy's resample_poly), exact in length up to rounding; the clip is then centre-cropped or
zero-padded at the end to a fixed length.
"""
from __future__ import annotations

import struct
import warnings
from math import gcd
from pathlib import Path

import numpy as np
import torch
from scipy.io import wavfile
from scipy.signal import resample_poly

from unibind_core.benchmarks.manifest import resolve_inside


def to_float(data: np.ndarray) -> np.ndarray:
    """PCM samples of any WAV dtype -> float32 in [-1, 1]."""
    if data.dtype.kind == "f":
        return np.clip(data.astype(np.float32), -1.0, 1.0)
    if data.dtype == np.uint8:  # 8-bit WAV is unsigned, centred on 128
        return (data.astype(np.float32) - 128.0) / 128.0
    if data.dtype.kind == "i":
        return (data.astype(np.float64) / float(2 ** (8 * data.dtype.itemsize - 1))).astype(np.float32)
    raise ValueError(f"unsupported WAV sample type {data.dtype}")


def resample(signal: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    if source_rate == target_rate:
        return signal
    g = gcd(source_rate, target_rate)
    return resample_poly(signal, target_rate // g, source_rate // g).astype(np.float32)


def fit_length(signal: np.ndarray, num_samples: int) -> np.ndarray:
    """Centre-crop a long clip; zero-pad a short one at the end."""
    if len(signal) >= num_samples:
        start = (len(signal) - num_samples) // 2
        return signal[start:start + num_samples]
    return np.pad(signal, (0, num_samples - len(signal)))


def read_wav(path: Path) -> tuple[int, np.ndarray]:
    """-> (sample rate, mono float32 samples in [-1, 1]); corrupt or empty files name the file."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", wavfile.WavFileWarning)
            rate, data = wavfile.read(path)
        truncated = [str(w.message) for w in caught if "EOF" in str(w.message)]
        if truncated:  # scipy would hand back the part before the cut as if it were the whole clip
            raise ValueError(f"truncated: {truncated[0]}")
        mono = to_float(data if data.ndim == 1 else data.reshape(len(data), -1))
    except (OSError, ValueError, EOFError, struct.error) as exc:
        raise ValueError(f"cannot read WAV file {path}: {exc}") from exc
    if mono.ndim == 2:
        mono = mono.mean(axis=1)
    if len(mono) == 0 or rate <= 0:
        raise ValueError(f"WAV file {path} holds no samples (rate {rate})")
    return int(rate), mono


def load(root: Path, row: dict, sample_rate: int = 16000, num_samples: int = 16000) -> torch.Tensor:
    """Manifest row -> (num_samples,) float32 mono at `sample_rate`."""
    rate, signal = read_wav(resolve_inside(root, row["path"]))
    fitted = fit_length(resample(signal, rate, sample_rate), num_samples)
    return torch.from_numpy(np.clip(fitted, -1.0, 1.0).astype(np.float32))
