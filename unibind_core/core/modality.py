"""The modalities UniBind binds to its language space: one StrEnum, so a modality is named once.

Members equal their strings (`Modality.THERMAL == "thermal"`), so settings, stored tables and JSON keep the
plain names, while the code names each modality through the enum.
"""

from __future__ import annotations

from enum import StrEnum


class Modality(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    POINT = "point"  # point clouds
    THERMAL = "thermal"  # infrared images
    EVENT = "event"  # event-camera recordings
    TEXT = "text"  # the language side every other modality is bound to

    def __repr__(self) -> str:  # in messages and reprs a modality reads as the name users write: 'image'
        return repr(self.value)


DATA_MODALITIES: tuple[Modality, ...] = tuple(m for m in Modality if m is not Modality.TEXT)
