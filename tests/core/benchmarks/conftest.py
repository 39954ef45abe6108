"""Real, tiny video clips for reader fixtures: the readers open every container, so fixtures hold
genuine clips in the distributed formats, written once per session."""
from __future__ import annotations

import io

import av
import numpy as np
import pytest


def video_bytes(fmt: str, codec: str = "mpeg4") -> bytes:
    """A 4-frame 32x32 clip in container `fmt` (avi for UCF-101, mp4 for MSR-VTT)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=8)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for t in range(4):
            frame = np.full((32, 32), 40 * t, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="gray")))
        container.mux(stream.encode(None))
    return buffer.getvalue()


@pytest.fixture(scope="session")
def avi_clip() -> bytes:
    return video_bytes("avi")


@pytest.fixture(scope="session")
def mp4_clip() -> bytes:
    return video_bytes("mp4")
