"""Audio loader: a WAV file -> (L,) mono float32 in [-1, 1] at the backbone's sample rate.

Any integer PCM depth (8-bit unsigned; 16-, 24-, 32-bit signed, which scipy returns left-justified) or
float WAV is read by scipy, with any channel count averaged to mono (ESC-50 ships 44.1 kHz 16-bit;
UrbanSound8K keeps whatever rate, depth and channel count each Freesound upload had). Compressed WAV
codecs scipy refuses (4-bit IMA ADPCM and the like, which some Freesound uploads use) are decoded by
FFmpeg through PyAV.
Resampling is polyphase (scipy's resample_poly), exact in length up to rounding; the clip is then
centre-cropped or zero-padded at the end to a fixed length (`num_samples`; None keeps the whole clip, for a
backbone whose feature extractor pads and truncates as its model was trained, encoders/backbone/clap.py).
"""
from __future__ import annotations

import struct
import warnings
from functools import lru_cache
from math import gcd
from pathlib import Path

import numpy as np
import torch
from scipy.io import wavfile
from scipy.signal import firwin, resample_poly

from unibind_core.data.benchmarks.manifest import resolve_inside


def to_float(data: np.ndarray) -> np.ndarray:
    """PCM samples of any WAV dtype -> float32 in [-1, 1]."""
    if data.dtype.kind == "f":
        return np.clip(data.astype(np.float32), -1.0, 1.0)
    if data.dtype == np.uint8:  # 8-bit WAV is unsigned, centred on 128
        return (data.astype(np.float32) - 128.0) / 128.0
    if data.dtype.kind == "i":
        return (data.astype(np.float64) / float(2 ** (8 * data.dtype.itemsize - 1))).astype(np.float32)
    raise ValueError(f"unsupported WAV sample type {data.dtype}")


RESAMPLER = "scipy.signal.resample_poly, kaiser(5.0) FIR"  # named in docs/method.md §4 and tested


@lru_cache(maxsize=32)
def lowpass(up: int, down: int) -> np.ndarray:
    """resample_poly's default anti-aliasing FIR for (up, down), designed once per rate pair, not per clip."""
    max_rate = max(up, down)
    return firwin(2 * 10 * max_rate + 1, 1.0 / max_rate, window=("kaiser", 5.0))


def resample(signal: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """The one resampler of the project (RESAMPLER): polyphase FIR with resample_poly's default Kaiser(5.0)
    anti-aliasing filter; (N,) -> (ceil(N * target / source),) float32."""
    if source_rate == target_rate:
        return signal
    g = gcd(source_rate, target_rate)
    up, down = target_rate // g, source_rate // g
    # a copy: resample_poly scales the filter it is given in place
    return resample_poly(signal, up, down, window=lowpass(up, down).copy()).astype(np.float32)


def fit_length(signal: np.ndarray, num_samples: int) -> np.ndarray:
    """Centre-crop a long clip; zero-pad a short one at the end."""
    if len(signal) >= num_samples:
        start = (len(signal) - num_samples) // 2
        return signal[start:start + num_samples]
    return np.pad(signal, (0, num_samples - len(signal)))


class UnsupportedCodec(ValueError):
    """The WAV holds a compressed codec (ADPCM, ...) that scipy does not decode."""


def read_pcm(path: Path) -> tuple[int, np.ndarray]:
    """PCM / float WAV through scipy -> (rate, (N,) or (N, C) float32); UnsupportedCodec for other codecs."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", wavfile.WavFileWarning)
        try:
            rate, data = wavfile.read(path)
        except ValueError as exc:
            if "Unknown wave file format" in str(exc):
                raise UnsupportedCodec(str(exc)) from exc
            raise
    truncated = [str(w.message) for w in caught if "EOF" in str(w.message)]
    if truncated:  # scipy would hand back the part before the cut as if it were the whole clip
        raise ValueError(f"truncated: {truncated[0]}")
    return rate, to_float(data if data.ndim == 1 else data.reshape(len(data), -1))


def read_with_ffmpeg(path: Path) -> tuple[int, np.ndarray]:
    """Any audio FFmpeg decodes -> (rate, (N,) float32 mono), via PyAV's resampler to packed float mono."""
    import av  # only needed for the rare compressed WAV

    try:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=stream.rate)
            frames = [f for frame in container.decode(stream) for f in resampler.resample(frame)]
            frames += resampler.resample(None)  # flush what the resampler still holds
            chunks = [f.to_ndarray().reshape(-1) for f in frames]
            rate = stream.rate
    except (av.FFmpegError, IndexError) as exc:
        raise ValueError(f"FFmpeg cannot decode it ({exc})") from exc
    return int(rate), np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)


def read_wav(path: Path) -> tuple[int, np.ndarray]:
    """-> (sample rate, mono float32 samples in [-1, 1]); corrupt or empty files name the file."""
    try:
        try:
            rate, mono = read_pcm(path)
        except UnsupportedCodec:
            rate, mono = read_with_ffmpeg(path)
    except (OSError, ValueError, EOFError, struct.error) as exc:
        raise ValueError(f"cannot read WAV file {path}: {exc}") from exc
    if mono.ndim == 2:
        mono = mono.mean(axis=1)
    mono = np.clip(mono, -1.0, 1.0)
    if len(mono) == 0 or rate <= 0:
        raise ValueError(f"WAV file {path} holds no samples (rate {rate})")
    return int(rate), mono


def load(root: Path, row: dict, sample_rate: int = 16000, num_samples: int | None = 16000) -> torch.Tensor:
    """Manifest row -> (num_samples,) float32 mono at `sample_rate` (the whole clip with `num_samples` None)."""
    rate, signal = read_wav(resolve_inside(root, row["path"]))
    resampled = resample(signal, rate, sample_rate)
    fitted = resampled if num_samples is None else fit_length(resampled, num_samples)
    return torch.from_numpy(np.clip(fitted, -1.0, 1.0).astype(np.float32))
