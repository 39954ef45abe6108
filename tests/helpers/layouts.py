"""Dataset copies in their distributed layouts, written by the tests that need them in more than one
module (the reader's own tests, the CLI's and the pipeline's)."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import av
import numpy as np

from unibind_core.data.benchmarks.classnames import shipped_classes


def write_esc50(root: Path, classes: tuple[int, ...] = (0, 41), per_class: int = 2) -> Path:
    """ESC-50 as distributed (meta/esc50.csv, audio/*.wav), holding only `classes` of the shipped 50."""
    (root / "meta").mkdir(parents=True)
    (root / "audio").mkdir()
    shipped = shipped_classes("esc50")
    lines = ["filename,fold,target,category,esc10,src_file,take"]
    for target in classes:
        for k in range(per_class):
            name = f"{k + 1}-{100 + target}-A-{target}.wav"
            lines.append(f"{name},{k + 1},{target},{shipped[target].key},False,{100 + target},A")
            with wave.open(str(root / "audio" / name), "wb") as w:
                w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
                w.writeframes(np.zeros(800, np.int16).tobytes())
    (root / "meta" / "esc50.csv").write_text("\n".join(lines) + "\n")
    return root


CUBE = (
    "8 6 0\n"
    + "".join(f"{x} {y} {z}\n" for x in (0, 1) for y in (0, 1) for z in (0, 1))
    + ("4 0 1 3 2\n4 4 6 7 5\n4 0 4 5 1\n4 2 3 7 6\n4 0 2 6 4\n4 1 5 7 3\n")
)


def write_princeton(top: Path) -> Path:
    """ModelNet40.zip as Princeton distributes it: <class>/{train,test}/<class>_NNNN.off, a subset of classes."""
    for key, split, n in (("bed", "train", 1), ("bed", "train", 2), ("bed", "test", 3), ("xbox", "test", 1)):
        path = top / key / split / f"{key}_{n:04d}.off"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("OFF\n" + CUBE)
    (top / "bed" / "train" / "bed_0002.off").write_text("OFF" + CUBE)  # the compact `OFF8 6 0` header
    (top / "xbox" / "test" / "xbox_0002.off").write_text("ply\nformat ascii 1.0\n")  # not an OFF mesh
    (top / "xbox" / "test" / "xbox_0003.off").write_bytes(b"")
    (top / "xbox" / "train").mkdir()
    return top


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
