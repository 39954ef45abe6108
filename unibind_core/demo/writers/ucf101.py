"""Moving-MNIST-style clips in UCF-101's layout: `UCF-101/<Class>/v_<Class>_g<GG>_c<CC>.avi` plus
`ucfTrainTestlist/{classInd,trainlist01,testlist01}.txt`, with groups 1-7 as test as in split 1.

Each clip is a digit upscaled to 16x16 gliding at constant velocity inside a 32x32 canvas and
bouncing off the walls, written as MPEG-4 part 2 in AVI, the codec family and container of the real
clips (which are XviD at 25 fps; these run at 8 fps).
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import torch
import torch.nn.functional as F

from unibind_core.demo.digits import DemoDigits, stroke_attributes
from unibind_core.storage.io import atomic_path, write_bytes

CANVAS, DIGIT, FRAMES, FPS = 32, 16, 8, 8
GROUPS, TEST_GROUPS = 25, 7  # UCF-101 split 1 tests on groups 1-7
SPEED = (0.75, 3.0)  # pixels per frame


def upscale(images: np.ndarray) -> np.ndarray:
    """(N, 8, 8) in [0, 1] -> (N, DIGIT, DIGIT) uint8, all digits in one interpolate call."""
    x = F.interpolate(torch.from_numpy(images)[:, None], size=(DIGIT, DIGIT), mode="bilinear", align_corners=False)
    return (x[:, 0].clamp(0, 1).numpy() * 255).round().astype(np.uint8)


def trajectory(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, bool]:
    """Top-left corners (FRAMES, 2) as (x, y) ints, the velocity (2,), and whether it bounced."""
    span = CANVAS - DIGIT
    start = rng.uniform(0, span, 2)
    angle, speed = rng.uniform(0, 2 * np.pi), rng.uniform(*SPEED)
    velocity = speed * np.array([np.cos(angle), np.sin(angle)])
    free = start + np.arange(FRAMES)[:, None] * velocity  # (FRAMES, 2) unbounded path
    folded = span - np.abs(np.mod(free, 2 * span) - span)  # reflect off both walls (triangle wave)
    bounced = bool(((free < 0) | (free > span)).any())
    return np.rint(folded).astype(np.int64), velocity, bounced


def render(digit: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """(DIGIT, DIGIT) uint8 and (FRAMES, 2) corners -> (FRAMES, CANVAS, CANVAS) uint8 frames."""
    frames = np.zeros((len(corners), CANVAS, CANVAS), np.uint8)
    for t, (x, y) in enumerate(corners):
        frames[t, y : y + DIGIT, x : x + DIGIT] = digit
    return frames


def encode_avi(frames: np.ndarray, path: Path) -> None:
    """Gray frames -> MPEG-4 (yuv420p) AVI at `path`, atomically."""
    with atomic_path(path) as tmp, av.open(str(tmp), "w", format="avi") as container:
        stream = container.add_stream("mpeg4", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = CANVAS, CANVAS, "yuv420p"
        stream.bit_rate = 400_000
        stream.codec_context.thread_count = 1  # threaded encoder start-up costs more than 8 tiny frames
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="gray")))
        container.mux(stream.encode(None))


def motion_words(velocity: np.ndarray, bounced: bool) -> str:
    speed = float(np.hypot(*velocity))
    pace = "slowly" if speed < 1.5 else ("steadily" if speed < 2.25 else "quickly")
    dx, dy = velocity / speed
    vertical = "up" if dy < -0.38 else ("down" if dy > 0.38 else "")  # |sin| > sin(22.5 deg)
    horizontal = "to the left" if dx < -0.38 else ("to the right" if dx > 0.38 else "")
    direction = f"{vertical} and {horizontal}" if vertical and horizontal else (horizontal or f"{vertical}wards")
    return f"moving {pace} {direction}" + (" and bouncing off an edge" if bounced else "")


def clip_names(digits: DemoDigits, rng: np.random.Generator) -> list[tuple[str, int, str]]:
    """(ClassName, group, relative list entry) per digit; clips numbered within (class, group)."""
    groups = rng.integers(1, GROUPS + 1, size=len(digits))
    seen: dict[tuple[str, int], int] = {}
    names = []
    for i, g in enumerate(groups.tolist()):
        cls = digits.name(i).capitalize()
        seen[cls, g] = seen.get((cls, g), 0) + 1
        names.append((cls, g, f"{cls}/v_{cls}_g{g:02d}_c{seen[cls, g]:02d}.avi"))
    return names


def write_lists(root: Path, names: list[tuple[str, int, str]]) -> None:
    classes = sorted({cls for cls, _, _ in names})
    ids = {cls: i + 1 for i, cls in enumerate(classes)}
    lists = root / "ucfTrainTestlist"
    write_bytes("".join(f"{ids[c]} {c}\n" for c in classes).encode(), lists / "classInd.txt")
    train = "".join(f"{entry} {ids[cls]}\n" for cls, g, entry in names if g > TEST_GROUPS)
    test = "".join(f"{entry}\n" for _, g, entry in names if g <= TEST_GROUPS)
    write_bytes(train.encode(), lists / "trainlist01.txt")
    write_bytes(test.encode(), lists / "testlist01.txt")


def write(root: Path, digits: DemoDigits, rng: np.random.Generator) -> dict[str, str]:
    """Write the dataset under `root`; returns {relative path: caption}."""
    root = Path(root)
    names = clip_names(digits, rng)
    sprites = upscale(digits.images)
    captions = {}
    for i, (_, _, entry) in enumerate(names):
        corners, velocity, bounced = trajectory(rng)
        rel = f"UCF-101/{entry}"
        encode_avi(render(sprites[i], corners), root / rel)
        thickness = stroke_attributes(digits.images[i])["thickness"]
        captions[rel] = f"a video of a {thickness} handwritten {digits.name(i)} {motion_words(velocity, bounced)}"
    write_lists(root, names)
    return captions
