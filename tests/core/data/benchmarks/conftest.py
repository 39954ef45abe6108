"""Real, tiny video clips for reader fixtures: the readers open every container, so fixtures hold
genuine clips in the distributed formats, written once per session."""
from __future__ import annotations

import pytest

from tests.helpers.layouts import video_bytes


@pytest.fixture(scope="session")
def avi_clip() -> bytes:
    return video_bytes("avi")


@pytest.fixture(scope="session")
def mp4_clip() -> bytes:
    return video_bytes("mp4")
