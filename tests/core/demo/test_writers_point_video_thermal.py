"""Demo writers for ModelNet40 (points), UCF-101 (video) and LLVIP (thermal): layout, determinism, captions."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import numpy as np
import pytest
from defusedxml.ElementTree import parse as parse_xml
from PIL import Image

from unibind_core.demo.digits import DIGIT_NAMES, load_demo_digits
from unibind_core.demo.writers import llvip, modelnet40, ucf101

WRITERS = {"modelnet40": modelnet40.write, "ucf101": ucf101.write, "llvip": llvip.write}
DATA_SUFFIXES = {".txt", ".avi", ".jpg"}


@pytest.fixture(scope="module")
def digits():
    return load_demo_digits(max_per_class=3)


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_writer_is_deterministic_given_the_seed(fmt, digits, tmp_path):
    a = WRITERS[fmt](tmp_path / "a", digits, np.random.default_rng(7))
    b = WRITERS[fmt](tmp_path / "b", digits, np.random.default_rng(7))
    c = WRITERS[fmt](tmp_path / "c", digits, np.random.default_rng(8))
    assert a == b
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")
    assert _tree(tmp_path / "a") != _tree(tmp_path / "c") or a != c  # another seed: other files
    assert _tree(tmp_path / "a") != _tree(tmp_path / "c")


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_every_data_file_has_a_caption_naming_its_digit(fmt, digits, tmp_path):
    captions = WRITERS[fmt](tmp_path, digits, np.random.default_rng(0))
    lists = ("ucfTrainTestlist/", "modelnet40_")  # split lists, not samples
    data = {p for p in _tree(tmp_path) if Path(p).suffix in DATA_SUFFIXES and not p.startswith(lists)}
    assert set(captions) == data
    assert not list(tmp_path.rglob("*.tmp")), "atomic writes left temporary files behind"
    for path, caption in captions.items():
        name = caption.split("handwritten ")[1].split()[0].rstrip(",")
        assert name in DIGIT_NAMES, (path, caption)
        if fmt != "llvip":  # LLVIP names files by number; its labels are checked against the XML below
            assert name in path.lower(), (path, caption)


def test_modelnet40_layout(digits, tmp_path):
    captions = modelnet40.write(tmp_path, digits, np.random.default_rng(0))
    names = (tmp_path / "modelnet40_shape_names.txt").read_text().split()
    assert names == sorted(DIGIT_NAMES)
    train = (tmp_path / "modelnet40_train.txt").read_text().split()
    test = (tmp_path / "modelnet40_test.txt").read_text().split()
    assert sorted(train + test) == sorted(Path(p).stem for p in captions) and not set(train) & set(test)
    assert test, "some samples must be held out for test"
    rows = np.loadtxt(tmp_path / "seven" / "seven_0001.txt", delimiter=",")
    assert rows.shape == (modelnet40.POINTS, 6)
    np.testing.assert_allclose(np.linalg.norm(rows[:, 3:], axis=1), 1.0, atol=1e-5)
    line = (tmp_path / "seven" / "seven_0001.txt").read_text().splitlines()[0]
    assert all(len(v.split(".")[1]) == 6 for v in line.split(","))
    assert "3D point cloud of a" in captions["seven/seven_0001.txt"]


def test_ucf101_layout_and_videos(digits, tmp_path):
    captions = ucf101.write(tmp_path, digits, np.random.default_rng(0))
    lists = tmp_path / "ucfTrainTestlist"
    class_ind = [line.split() for line in (lists / "classInd.txt").read_text().splitlines()]
    assert class_ind == [[str(i + 1), n.capitalize()] for i, n in enumerate(sorted(DIGIT_NAMES))]
    ids = {name: int(i) for i, name in class_ind}
    train = [line.split() for line in (lists / "trainlist01.txt").read_text().splitlines()]
    test = (lists / "testlist01.txt").read_text().splitlines()
    for entry, label in train:
        cls = entry.split("/")[0]
        assert ids[cls] == int(label) and int(entry.split("_g")[1][:2]) > 7
    assert all(1 <= int(e.split("_g")[1][:2]) <= 7 and " " not in e for e in test)
    assert sorted([e for e, _ in train] + test) == sorted(p.removeprefix("UCF-101/") for p in captions)
    first = sorted(captions)[0]
    assert Path(first).name.startswith(f"v_{Path(first).parent.name}_g")
    with av.open(str(tmp_path / first)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.width, stream.codec_context.height) == ("mpeg4", 32, 32)
        frames = [f.to_ndarray(format="gray") for f in container.decode(stream)]
    assert len(frames) == ucf101.FRAMES and max(f.max() for f in frames) > 100
    assert all(c.startswith("a video of a ") and " moving " in c for c in captions.values())


def test_ucf101_bounce_keeps_the_digit_inside_the_canvas():
    rng = np.random.default_rng(3)
    for _ in range(200):
        corners, velocity, _ = ucf101.trajectory(rng)
        assert corners.min() >= 0 and corners.max() <= ucf101.CANVAS - ucf101.DIGIT
    assert ucf101.motion_words(np.array([-2.9, 0.1]), False) == "moving quickly to the left"
    assert ucf101.motion_words(np.array([0.0, -1.0]), True) == "moving slowly upwards and bouncing off an edge"


def test_llvip_layout_pairs_and_boxes(digits, tmp_path):
    captions = llvip.write(tmp_path, digits, np.random.default_rng(0))
    infrared = sorted(p.relative_to(tmp_path / "infrared") for p in (tmp_path / "infrared").rglob("*.jpg"))
    visible = sorted(p.relative_to(tmp_path / "visible") for p in (tmp_path / "visible").rglob("*.jpg"))
    assert infrared == visible and len(infrared) == len(digits)
    assert {p.parts[0] for p in infrared} == {"train", "test"}
    for rel in infrared:
        ann = parse_xml(tmp_path / "Annotations" / f"{rel.stem}.xml").getroot()
        assert ann.findtext("filename") == rel.name
        (obj,) = ann.findall("object")
        box = [int(obj.find("bndbox").findtext(t)) for t in ("xmin", "ymin", "xmax", "ymax")]
        side = box[2] - box[0]
        assert 16 <= side <= 28 and box[3] - box[1] == side and 0 <= min(box) and max(box) <= llvip.SIDE
        ir = np.asarray(Image.open(tmp_path / "infrared" / rel), dtype=np.float64)
        inside = np.zeros(ir.shape, bool)
        inside[box[1] : box[3], box[0] : box[2]] = True
        assert ir[inside].max() > ir[~inside].mean() + 40, "the heat signature sits inside the box"
        assert obj.findtext("name") in captions[f"infrared/{rel.as_posix()}"]
    assert llvip.position_words((0, 0, 16, 16)) == "upper left"
    assert llvip.position_words((24, 24, 40, 40)) == "centre"
