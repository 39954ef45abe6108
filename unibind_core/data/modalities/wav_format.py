"""A cheap structural check of RIFF/WAVE files: readers quarantine broken clips without decoding them.

Only the chunk headers are read (a few small reads per file), so checking all 8,732 UrbanSound8K clips
costs a fraction of a second. Caught: not a RIFF/WAVE file, no `fmt ` or `data` chunk, a `data` chunk
that runs past the end of the file (an interrupted download or copy), zero channels or rate.
"""
from __future__ import annotations

import os
import struct
import wave
from pathlib import Path

import numpy as np

MAX_CHUNKS = 64  # a valid WAV has a handful; more means garbage, not a reason to read the whole file


def _walk_chunks(f, size: int, endian: str) -> tuple[bytes | None, tuple[int, int] | None]:
    """-> (fmt chunk body, (data offset, data size)); the walk stops at the data chunk."""
    fmt, offset = None, 12
    for _ in range(MAX_CHUNKS):
        if offset + 8 > size:
            return fmt, None
        f.seek(offset)
        chunk_id, chunk_size = struct.unpack(f"{endian}4sI", f.read(8))
        if chunk_id == b"data":
            return fmt, (offset + 8, chunk_size)
        if chunk_id == b"fmt ":
            fmt = f.read(min(chunk_size, 64))
        offset += 8 + chunk_size + (chunk_size & 1)  # chunks are word-aligned
    return fmt, None


def wav_problem(path: str | Path) -> str | None:
    """Why `path` is not a complete WAV file, or None if its structure is sound."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            riff, _, wave = struct.unpack("<4sI4s", f.read(12).ljust(12, b"\0"))
            if riff not in (b"RIFF", b"RIFX") or wave != b"WAVE":
                return "not a RIFF/WAVE file"
            endian = ">" if riff == b"RIFX" else "<"  # RIFX: the rare big-endian variant scipy also reads
            fmt, data = _walk_chunks(f, size, endian)
    except OSError as exc:
        return f"unreadable ({exc})"
    if fmt is None or len(fmt) < 16:
        return "no complete 'fmt ' chunk before the audio data"
    channels, rate = struct.unpack(f"{endian}HI", fmt[2:8])
    if channels == 0 or rate == 0:
        return f"'fmt ' chunk declares {channels} channels at {rate} Hz"
    if data is None:
        return "no 'data' chunk (truncated header)"
    start, length = data
    if start + length > size:
        return f"truncated: the data chunk declares {length} bytes, the file holds {size - start}"
    return None


def write_pcm24(path: Path, rate: int, signal: np.ndarray) -> None:
    """(T, channels) float signal in [-1, 1] -> 24-bit PCM WAV, 3 little-endian bytes a sample (the
    UrbanSound8K format scipy cannot write; tests and bench/reader_throughput.py make such clips)."""
    ints = np.round(signal * (2**23 - 1)).astype(np.int32)
    raw = np.stack([ints & 0xFF, (ints >> 8) & 0xFF, (ints >> 16) & 0xFF], axis=-1).astype(np.uint8)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(signal.shape[1])
        w.setsampwidth(3)
        w.setframerate(rate)
        w.writeframes(raw.tobytes())
