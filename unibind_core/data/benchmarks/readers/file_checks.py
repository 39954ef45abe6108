"""Cheap bad-file checks run while a manifest is read: headers and lengths, never a full decode.

A file that fails goes to the quarantine with the reason and the rest of the manifest is written, so a
truncated download is named before any feature is computed. What these checks cannot see (a JPEG cut
inside its entropy-coded body, a video frame that fails to decode) is caught by the features stage's
decode quarantine. Each check is `(path, size) -> reason | None`; `by_suffix` picks one by file suffix
from `CHECKS` (one entry per format, no per-format branches in the readers).
"""
from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import numpy as np

from unibind_core.data.benchmarks.readers.common import FileCheck
from unibind_core.data.modalities.events_format import BYTES_PER_EVENT, NPZ_LAYOUTS
from unibind_core.data.modalities.events_format import npz_problem as npz_end_record_problem
from unibind_core.data.modalities.wav_format import wav_problem

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff")
NUMERIC_KINDS = "biuf"  # bool, signed, unsigned, float: what event fields may be (never object: no pickles)
FLAC_STREAMINFO = 0
FLAC_MAX_BLOCKS = 128


def image_problem(path: Path, size: int) -> str | None:
    """The header parses as an image (JPEG, PNG, ...) and declares at least 1x1 pixels."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            width, height = image.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        return f"not a readable image header ({exc})"
    if width < 1 or height < 1:
        return f"image header declares {width}x{height} pixels"
    return None


def wav_check(path: Path, size: int) -> str | None:
    """RIFF/WAVE chunk structure: a `fmt ` chunk, and a `data` chunk that fits in the file."""
    return wav_problem(path)


def flac_problem(path: Path, size: int) -> str | None:
    """`fLaC`, a STREAMINFO block first (rate, channels), every metadata block inside the file, and a
    frame sync code after the last one (a file cut inside its metadata has no audio frames)."""
    with open(path, "rb") as f:
        if f.read(4) != b"fLaC":
            return "not a FLAC file (no 'fLaC' marker)"
        offset, first = 4, True
        for _ in range(FLAC_MAX_BLOCKS):
            header = f.read(4)
            if len(header) < 4:
                return "truncated inside the FLAC metadata blocks"
            last, kind, length = header[0] >> 7, header[0] & 0x7F, int.from_bytes(header[1:], "big")
            if first:
                if kind != FLAC_STREAMINFO or length < 34:
                    return "the first FLAC metadata block is not STREAMINFO"
                info = f.read(18)
                if len(info) < 18:
                    return "truncated inside the FLAC STREAMINFO block"
                packed = int.from_bytes(info[10:18], "big")
                rate, channels = packed >> 44, ((packed >> 41) & 0x7) + 1
                if rate == 0:
                    return f"STREAMINFO declares {channels} channels at 0 Hz"
                first = False
            offset += 4 + length
            if offset > size:
                return f"truncated: a FLAC metadata block runs past the end of the {size}-byte file"
            f.seek(offset)
            if last:
                break
        else:
            return f"more than {FLAC_MAX_BLOCKS} FLAC metadata blocks"
        sync = f.read(2)
    if len(sync) < 2:
        return "no audio frames after the FLAC metadata (truncated)"
    if struct.unpack(">H", sync)[0] >> 2 != 0x3FFE:
        return "no FLAC frame sync code after the metadata"
    return None


def video_problem(path: Path, size: int) -> str | None:
    """The container opens (PyAV reads its header) and holds a video stream; no frame is decoded."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return "the container holds no video stream"
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        return f"the video container does not open ({exc})"
    return None


def events_bin_problem(path: Path, size: int) -> str | None:
    """N-Caltech101 `.bin`: whole 5-byte events (a cut download leaves a remainder)."""
    if size % BYTES_PER_EVENT:
        return f"size {size} bytes is not a multiple of {BYTES_PER_EVENT} (truncated event stream)"
    return None


def _npy_header(archive: zipfile.ZipFile, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) of one .npz member from its .npy header (compressed members inflate a few bytes)."""
    with archive.open(name) as f:
        version = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(f)
    return shape, dtype


def npz_events_problem(path: Path, size: int) -> str | None:
    """N-ImageNet `.npz` (np.savez or np.savez_compressed): a complete zip holding one known layout,
    `event_data` with numeric x/y/t/p fields or numeric x_pos/y_pos/timestamp/polarity arrays of one length."""
    problem = npz_end_record_problem(path, size)
    if problem is not None:
        return problem
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            for container, fields in NPZ_LAYOUTS:
                if container is not None and f"{container}.npy" in names:
                    _, dtype = _npy_header(archive, f"{container}.npy")
                    kinds = {f: dtype.fields[f][0].kind for f in fields if dtype.fields and f in dtype.fields}
                    if set(kinds) != set(fields) or any(k not in NUMERIC_KINDS for k in kinds.values()):
                        return f"{container} has dtype {dtype}, expected numeric fields {', '.join(fields)}"
                    return None
                if container is None and all(f"{f}.npy" in names for f in fields):
                    headers = [_npy_header(archive, f"{f}.npy") for f in fields]
                    bad = [f for f, (_, dtype) in zip(fields, headers) if dtype.kind not in NUMERIC_KINDS]
                    if bad:
                        return f"event array(s) {', '.join(bad)} are not numeric"
                    if len({int(np.prod(shape)) for shape, _ in headers}) != 1:
                        return f"event arrays {', '.join(fields)} differ in length"
                    return None
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        return f"not a readable .npz archive ({exc})"
    return (f"holds {sorted(names)}, none of the N-ImageNet layouts (event_data with x/y/t/p fields, or "
            f"x_pos/y_pos/timestamp/polarity)")


def off_problem(path: Path, size: int) -> str | None:
    """An OFF mesh header: `OFF` then vertex and face counts, on the same line (`OFF490 518 0`, a known
    ModelNet defect) or the next; a mesh with no face has no surface to sample."""
    with open(path, "rb") as f:
        head = f.read(4096).decode("ascii", errors="replace")
    lines = [line.split("#", 1)[0].strip() for line in head.splitlines()]
    lines = [line for line in lines if line]
    if not lines or not lines[0].upper().startswith("OFF"):
        return "not an OFF mesh (the file does not start with 'OFF')"
    counts = lines[0][3:].split() or (lines[1].split() if len(lines) > 1 else [])
    if len(counts) < 2 or not all(c.isdigit() for c in counts[:2]):
        return "OFF header has no vertex and face counts"
    if int(counts[0]) < 3 or int(counts[1]) < 1:
        return f"OFF header declares {counts[0]} vertices and {counts[1]} faces: no surface to sample"
    return None


def point_text_problem(path: Path, size: int) -> str | None:
    """A point-cloud text file (`x y z ...` or `x,y,z,...` rows): its first row holds at least three numbers
    (only the head of the file is read; a cut further down is the loader's to find)."""
    with open(path, "rb") as f:
        head = f.read(4096)
    try:
        first = head.decode("ascii").splitlines()[0] if head.strip() else ""
    except UnicodeDecodeError:
        return "not a point text file (binary content)"
    fields = first.replace(",", " ").split()
    try:
        numbers = [float(v) for v in fields]
    except ValueError:
        return f"the first row is not numbers: {first[:60]!r}"
    if len(numbers) < 3:
        return f"the first row has {len(numbers)} value(s), not x y z"
    return None


HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def h5_clouds_problem(path: Path, size: int) -> str | None:
    """ModelNet40's `ply_data_*.h5`: the HDF5 signature, a float `data` array (N, P, 3+) and N integer
    `label`s (read from the file's metadata; no cloud is read)."""
    import h5py

    with open(path, "rb") as f:
        if f.read(8) != HDF5_SIGNATURE:
            return "not an HDF5 file (no HDF5 signature)"
    try:
        with h5py.File(path, "r") as f:
            missing = [k for k in ("data", "label") if not isinstance(f.get(k), h5py.Dataset)]
            if missing:
                return f"the HDF5 file lacks the dataset(s) {', '.join(missing)}"
            data, label = f["data"], f["label"]
            if data.ndim != 3 or data.shape[2] < 3 or data.dtype.kind != "f":
                return f"'data' is {data.dtype} {data.shape}, expected float (N, points, 3)"
            if label.dtype.kind not in "iu" or label.shape[:1] != data.shape[:1] or label.size != data.shape[0]:
                return f"'label' is {label.dtype} {label.shape}, expected one integer per cloud of 'data' {data.shape}"
    except OSError as exc:  # truncated or damaged inside
        return f"not a readable HDF5 file ({exc})"
    return None


CHECKS: dict[str, FileCheck] = {
    **{suffix: image_problem for suffix in IMAGE_SUFFIXES},
    ".wav": wav_check,
    ".flac": flac_problem,
    ".mp4": video_problem, ".avi": video_problem, ".mkv": video_problem, ".webm": video_problem,
    ".bin": events_bin_problem,
    ".npz": npz_events_problem,
    ".off": off_problem,
    ".h5": h5_clouds_problem,
}


def by_suffix(path: Path, size: int) -> str | None:
    """The check of `path`'s format, chosen by suffix; a suffix without a check passes."""
    check = CHECKS.get(Path(path).suffix.lower())
    return check(path, size) if check is not None else None


def suffix_check(suffixes: tuple[str, ...], what: str, verify: bool = True) -> FileCheck:
    """A check that refuses other suffixes (`not <what> (unexpected suffix)`) and, with `verify`, runs
    the format's header check."""
    def check(path: Path, size: int) -> str | None:
        if Path(path).suffix.lower() not in suffixes:
            return f"not {what} (unexpected suffix)"
        return by_suffix(path, size) if verify else None

    return check
