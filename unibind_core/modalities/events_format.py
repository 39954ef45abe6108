"""The N-MNIST / N-Caltech101 binary event format: 40 bits (5 bytes) per event, big-endian.

    byte 0: x (pixels)   byte 1: y (pixels)
    byte 2 bit 7: polarity (1 = ON, brighter; 0 = OFF, darker)
    byte 2 bits 6..0, byte 3, byte 4: timestamp in microseconds (23 bits)

Both directions are whole-array numpy operations: a recording holds tens of thousands of events.
"""
from __future__ import annotations

import numpy as np

BYTES_PER_EVENT = 5
MAX_COORD = 255
MAX_TIMESTAMP = (1 << 23) - 1  # about 8.4 s, longer than any N-Caltech101 recording


def _as_int(values: np.ndarray | list, name: str, high: int) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"event field {name} must be one-dimensional, got shape {array.shape}")
    array = array.astype(np.int64)
    if len(array) and (array.min() < 0 or array.max() > high):
        raise ValueError(f"event field {name} must lie in [0, {high}], got [{array.min()}, {array.max()}]")
    return array


def encode_events(x: np.ndarray, y: np.ndarray, t: np.ndarray, p: np.ndarray) -> bytes:
    """Events -> the 5-byte-per-event stream. Polarity is ON where `p > 0` (so 0/1 and -1/+1 both work)."""
    x, y = _as_int(x, "x", MAX_COORD), _as_int(y, "y", MAX_COORD)
    t = _as_int(t, "t", MAX_TIMESTAMP)
    on = np.asarray(p) > 0
    if not len(x) == len(y) == len(t) == len(on):
        raise ValueError(f"event fields differ in length: x {len(x)}, y {len(y)}, t {len(t)}, p {len(on)}")
    out = np.empty((len(x), BYTES_PER_EVENT), dtype=np.uint8)
    out[:, 0], out[:, 1] = x, y
    out[:, 2] = (on.astype(np.int64) << 7) | (t >> 16)
    out[:, 3] = (t >> 8) & 0xFF
    out[:, 4] = t & 0xFF
    return out.tobytes()


def decode_events(data: bytes) -> dict[str, np.ndarray]:
    """The stream -> {"x", "y", "t", "p"} arrays (x, y int32; t int64 microseconds; p int8 in {0, 1})."""
    if len(data) % BYTES_PER_EVENT:
        raise ValueError(f"event stream of {len(data)} bytes is not a whole number of {BYTES_PER_EVENT}-byte "
                         f"events ({len(data) % BYTES_PER_EVENT} trailing bytes): truncated or not N-Caltech101")
    raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, BYTES_PER_EVENT).astype(np.int64)
    t = ((raw[:, 2] & 0x7F) << 16) | (raw[:, 3] << 8) | raw[:, 4]
    return {"x": raw[:, 0].astype(np.int32), "y": raw[:, 1].astype(np.int32), "t": t,
            "p": (raw[:, 2] >> 7).astype(np.int8)}
