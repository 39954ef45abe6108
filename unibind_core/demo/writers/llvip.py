"""Thermal/visible pairs in LLVIP's layout: `infrared/{train,test}/<name>.jpg`, the same names under
`visible/`, and one Pascal VOC `Annotations/<name>.xml` per pair.

In the infrared image the digit is a blurred bright heat signature on a warm, noisy gradient; in the
visible image the same digit is dark ink on a light textured surface. The box is the pasted region.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET  # building XML only; parsing always goes through defusedxml
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from unibind_core.demo.digits import DemoDigits, stroke_attributes
from unibind_core.storage.io import write_bytes

SIDE = 64
DIGIT_SIZE = (16, 28)  # inclusive range of the pasted digit's side, in pixels
TEST_FRACTION = 0.3
FIRST_NAME = 10001  # LLVIP numbers its pairs 010001, 010002, ...


def gradient(rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    """(SIDE, SIDE) linear ramp from `low` to `high` along a random direction."""
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:SIDE, 0:SIDE] / (SIDE - 1)
    t = np.cos(angle) * xx + np.sin(angle) * yy
    t = (t - t.min()) / max(np.ptp(t), 1e-6)
    return low + (high - low) * t


def sprite(image: np.ndarray, size: int, blur: float) -> np.ndarray:
    """(8, 8) ink in [0, 1] -> (size, size) float in [0, 1], bilinear upscale then Gaussian blur."""
    pil = Image.fromarray(np.uint8(np.clip(image, 0, 1) * 255)).resize((size, size), Image.BILINEAR)
    if blur > 0:
        pil = pil.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(pil, dtype=np.float64) / 255.0


def thermal_pair(
    image: np.ndarray, box: tuple[int, int, int, int], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """-> (infrared (SIDE, SIDE) uint8, visible (SIDE, SIDE, 3) uint8) with the digit inside `box`."""
    x0, y0, x1, y1 = box
    heat = np.zeros((SIDE, SIDE))
    heat[y0:y1, x0:x1] = sprite(image, x1 - x0, blur=1.2)
    warm = gradient(rng, rng.uniform(50, 80), rng.uniform(90, 120)) + rng.normal(0, 6, (SIDE, SIDE))
    infrared = warm + heat * rng.uniform(110, 150)
    ink = np.zeros((SIDE, SIDE))
    ink[y0:y1, x0:x1] = sprite(image, x1 - x0, blur=0.4)
    paper = gradient(rng, 185, 225) + rng.normal(0, 10, (SIDE, SIDE)) + 8 * np.sin(np.arange(SIDE) / 2.0)[:, None]
    gray = paper * (1 - 0.75 * ink)
    visible = gray[..., None] * rng.uniform(0.9, 1.05, 3)  # a slight colour cast per image
    return np.uint8(np.clip(infrared, 0, 255)), np.uint8(np.clip(visible, 0, 255))


def jpeg(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def voc_xml(name: str, split: str, label: str, box: tuple[int, int, int, int]) -> bytes:
    """One Pascal VOC annotation with a single object."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = split
    ET.SubElement(root, "filename").text = f"{name}.jpg"
    size = ET.SubElement(root, "size")
    for tag, value in (("width", SIDE), ("height", SIDE), ("depth", 3)):
        ET.SubElement(size, tag).text = str(value)
    obj = ET.SubElement(root, "object")
    ET.SubElement(obj, "name").text = label
    ET.SubElement(obj, "pose").text = "Unspecified"
    ET.SubElement(obj, "truncated").text = "0"
    ET.SubElement(obj, "difficult").text = "0"
    bndbox = ET.SubElement(obj, "bndbox")
    for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), box):
        ET.SubElement(bndbox, tag).text = str(value)
    return ET.tostring(root, encoding="utf-8")


def position_words(box: tuple[int, int, int, int]) -> str:
    """Box centre -> `upper left` ... `centre`, from the thirds of the frame it falls in."""
    cx, cy = (box[0] + box[2]) / 2 / SIDE, (box[1] + box[3]) / 2 / SIDE
    vertical = "upper" if cy < 1 / 3 else ("lower" if cy > 2 / 3 else "middle")
    horizontal = "left" if cx < 1 / 3 else ("right" if cx > 2 / 3 else "centre")
    return "centre" if (vertical, horizontal) == ("middle", "centre") else f"{vertical} {horizontal}"


def random_box(rng: np.random.Generator) -> tuple[int, int, int, int]:
    size = int(rng.integers(DIGIT_SIZE[0], DIGIT_SIZE[1] + 1))
    x0, y0 = (int(v) for v in rng.integers(0, SIDE - size + 1, 2))
    return x0, y0, x0 + size, y0 + size


def write(root: Path, digits: DemoDigits, rng: np.random.Generator) -> dict[str, str]:
    """Write the dataset under `root`; returns {relative path: caption} for infrared and visible files."""
    root = Path(root)
    is_test = rng.random(len(digits)) < TEST_FRACTION
    captions = {}
    for i in range(len(digits)):
        name, split, label = f"{FIRST_NAME + i:06d}", "test" if is_test[i] else "train", digits.name(i)
        box = random_box(rng)
        infrared, visible = thermal_pair(digits.images[i], box, rng)
        write_bytes(jpeg(infrared), root / "infrared" / split / f"{name}.jpg")
        write_bytes(jpeg(visible), root / "visible" / split / f"{name}.jpg")
        write_bytes(voc_xml(name, split, label, box), root / "Annotations" / f"{name}.xml")
        where, thickness = position_words(box), stroke_attributes(digits.images[i])["thickness"]
        captions[f"infrared/{split}/{name}.jpg"] = (
            f"a thermal image of a hot {thickness} handwritten {label} in the {where}"
        )
        captions[f"visible/{split}/{name}.jpg"] = (
            f"a photo of a dark {thickness} handwritten {label} on a light textured surface in the {where}"
        )
    return captions
