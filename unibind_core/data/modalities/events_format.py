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


# ---- N-ImageNet: NumPy .npz archives ------------------------------------------------------------------------
# The N-ImageNet release stores each recording as `event_data`, a structured array with fields x, y, t
# (microseconds) and p (polarity, 0/1 or bool); its loader also accepts an older layout of four separate
# arrays x_pos, y_pos, timestamp, polarity. Both are read here; nothing is unpickled.

NPZ_LAYOUTS = (
    ("event_data", ("x", "y", "t", "p")),  # one structured array, fields in x, y, t, p order
    (None, ("x_pos", "y_pos", "timestamp", "polarity")),  # one plain array per field
    (None, ("x", "y", "t", "p")),
)
MAX_NPZ_BYTES = 1 << 30  # uncompressed; a real recording is a few MB, so anything larger is refused unread
_EOCD = b"PK\x05\x06"  # zip end-of-central-directory signature: absent when an archive was cut short


def npz_problem(path, size: int) -> str | None:
    """Cheap structural check of an .npz (a zip archive): why it is unusable, or None."""
    if size == 0:
        return "empty file (0 bytes)"
    if size < 22:
        return f"{size} bytes is too short for a zip (.npz) archive"
    with open(path, "rb") as f:
        f.seek(max(0, size - 22 - 0xFFFF))  # the end record sits within the last 64 KiB + 22 bytes
        tail = f.read()
    if _EOCD not in tail:
        return "truncated or not a zip (.npz) archive: no end-of-central-directory record"
    return None


def _read_member(archive, name: str, max_bytes: int) -> np.ndarray:
    info = archive.getinfo(name)
    if info.file_size > max_bytes:
        raise ValueError(f"member {name} would decompress to {info.file_size} bytes (limit {max_bytes})")
    with archive.open(info) as f:
        return np.lib.format.read_array(f, allow_pickle=False)


def read_npz_events(path, max_bytes: int = MAX_NPZ_BYTES) -> dict[str, np.ndarray]:
    """An N-ImageNet .npz -> {"x", "y", "t", "p"} like `decode_events` (p in {0, 1}); ValueError if unusable."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            for container, fields in NPZ_LAYOUTS:
                if container is not None and f"{container}.npy" in names:
                    data = _read_member(archive, f"{container}.npy", max_bytes)
                    if data.dtype.names is None or not set(fields) <= set(data.dtype.names):
                        raise ValueError(f"{container} has fields {data.dtype.names}, expected {fields}")
                    columns = [data[f] for f in fields]
                    break
                if container is None and all(f"{f}.npy" in names for f in fields):
                    columns = [_read_member(archive, f"{f}.npy", max_bytes) for f in fields]
                    break
            else:
                raise ValueError(f"holds {sorted(names)}, none of the N-ImageNet layouts "
                                 f"(event_data with x/y/t/p fields, or x_pos/y_pos/timestamp/polarity)")
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as exc:
        raise ValueError(f"not a readable .npz archive ({exc})") from exc
    x, y, t, p = (np.asarray(c).reshape(-1) for c in columns)
    if not len(x) == len(y) == len(t) == len(p):
        raise ValueError(f"event fields differ in length: x {len(x)}, y {len(y)}, t {len(t)}, p {len(p)}")
    if len(x) and (x.min() < 0 or y.min() < 0):
        raise ValueError("negative event coordinates")
    return {"x": x.astype(np.int32), "y": y.astype(np.int32), "t": t.astype(np.int64),
            "p": (p > 0).astype(np.int8)}
