"""The cheap header checks readers run: each bad kind gets its reason, a good file passes."""
from __future__ import annotations

import io
import struct
from pathlib import Path

from PIL import Image

from unibind_core.data.benchmarks.readers.file_checks import by_suffix, flac_problem, image_problem


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), (90, 120, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()


def flac(rate: int = 16000, frames: bytes = b"\xff\xf8\x69\x08") -> bytes:
    """fLaC + a last STREAMINFO block (34 bytes: rate 20 bits, channels-1 3 bits, bps-1 5 bits, ...)."""
    packed = (rate << 44) | (0 << 41) | (15 << 36) | 1000
    info = struct.pack(">HH", 4096, 4096) + b"\x00" * 6 + packed.to_bytes(8, "big") + b"\x00" * 16
    return b"fLaC" + bytes([0x80]) + len(info).to_bytes(3, "big") + info + frames


def test_flac_header_checks(tmp_path):
    good = write(tmp_path / "a.flac", flac())
    assert flac_problem(good, good.stat().st_size) is None
    for name, data, reason in (("b", flac()[:20], "truncated inside the FLAC STREAMINFO block"),
                               ("c", flac(frames=b""), "no audio frames after the FLAC metadata (truncated)"),
                               ("d", flac(rate=0), "STREAMINFO declares 1 channels at 0 Hz"),
                               ("e", b"RIFF" + flac()[4:], "not a FLAC file (no 'fLaC' marker)")):
        path = write(tmp_path / f"{name}.flac", data)
        assert by_suffix(path, len(data)) == reason


def test_image_and_event_headers(tmp_path):
    good = write(tmp_path / "a.jpg", jpeg_bytes())
    assert image_problem(good, good.stat().st_size) is None
    cut = write(tmp_path / "b.png", b"\x89PNG\r\n\x1a\n\x00\x00")
    assert by_suffix(cut, 10).startswith("not a readable image header")
    assert by_suffix(write(tmp_path / "c.bin", b"\x00" * 12), 12) == \
        "size 12 bytes is not a multiple of 5 (truncated event stream)"
    assert by_suffix(write(tmp_path / "d.bin", b"\x00" * 10), 10) is None
