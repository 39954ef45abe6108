"""LLVIP reader on a fixture in the real layout: VOC XML, infrared/visible pairs, background crops."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unibind_core.data.benchmarks.manifest import DatasetLayoutError, hashed_split
from unibind_core.data.benchmarks.readers.llvip import read
from unibind_core.demo.digits import load_demo_digits
from unibind_core.demo.writers import llvip as demo_writer

W, H = 160, 128


def voc(objects: list[tuple[str, tuple[int, int, int, int]]], size: bool = True) -> str:
    size_xml = f"<size><width>{W}</width><height>{H}</height><depth>3</depth></size>" if size else ""
    objs = "".join(f"<object><name>{n}</name><pose>Unspecified</pose><truncated>0</truncated><difficult>0</difficult>"
                   f"<bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin><xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox>"
                   "</object>" for n, b in objects)
    return f"<annotation><folder>LLVIP</folder><filename>x.jpg</filename>{size_xml}{objs}</annotation>"


ANNOTATIONS = {
    "010001": voc([("person", (10, 20, 40, 90)), ("person", (100, 30, 130, 100))]),
    "010002": voc([("person", (0, 0, 20, 50))], size=False),  # no <size>: read from the image header
    "010003": voc([("person", (50, 50, 80, 120)), ("person", (150, 10, 170, 40))]),  # 2nd sticks out
    "190001": voc([("person", (60, 40, 90, 110)), ("cyclist", (5, 5, 25, 40))]),
    "190002": "<annotation><object><name>person</name>",  # truncated
    "190003": '<!DOCTYPE a [<!ENTITY e "boom">]><annotation>&e;</annotation>',  # entities are refused
    "190009": voc([("person", (1, 1, 10, 10))]),  # no image with this name
}
SPLIT = {"010001": "train", "010002": "train", "010003": "train", "190001": "test", "190002": "test",
         "190003": "test"}


@pytest.fixture
def dataset(tmp_path) -> Path:
    root = tmp_path / "LLVIP"
    for stem, split in SPLIT.items():
        for kind in ("infrared", "visible"):
            if kind == "visible" and stem == "010003":
                continue  # an unpaired infrared image keeps its samples, with no paired path
            path = root / kind / split / f"{stem}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (W, H), (90, 90, 90)).save(path)
    (root / "Annotations").mkdir()
    for stem, text in ANNOTATIONS.items():
        (root / "Annotations" / f"{stem}.xml").write_text(text)
    return root


def test_reads_every_field(dataset):
    result = read(dataset, eval_fraction=0.5)
    assert [(c.index, c.key, c.name) for c in result.classes] == [(0, "cyclist", "cyclist"), (1, "person", "person")]
    rows = {r["sample_id"]: r for r in result.rows}
    assert sorted(rows) == ["010001_0", "010001_1", "010002_0", "010003_0", "190001_0", "190001_1"]
    assert rows["190001_1"] == {"split": "test", "path": "infrared/test/190001.jpg",
                                "paired_path": "visible/test/190001.jpg",
                                "sample_id": "190001_1", "class_key": "cyclist", "class_name": "cyclist",
                                "box": [5, 5, 25, 40], "class_index": 0}
    assert rows["010003_0"]["paired_path"] is None
    for stem in ("010001", "010002", "010003"):  # eval carved per image: every crop of a frame together
        assert {r["split"] for s, r in rows.items() if s.startswith(stem)} == {hashed_split(stem, 0.5)}
    table = result.manifest()
    assert table["box"].to_pylist()[0] == [10, 20, 40, 90]


def test_bad_annotations_are_quarantined(dataset):
    reasons = {}
    for q in read(dataset).quarantine:
        reasons.setdefault(q["path"], []).append(q["reason"])
    assert set(reasons) == {"Annotations/010003.xml", "Annotations/190002.xml", "Annotations/190003.xml",
                            "Annotations/190009.xml"}
    assert reasons["Annotations/010003.xml"] == [
        f"object 1 box [150, 10, 170, 40] lies outside the {W}x{H} image or is empty"]
    assert reasons["Annotations/190002.xml"][0].startswith("malformed XML")
    assert reasons["Annotations/190003.xml"][0].startswith("malformed XML")
    assert "no infrared" in reasons["Annotations/190009.xml"][0]


def test_background_crops(dataset):
    result = read(dataset, background_crops=True, seed=3)
    assert [c.key for c in result.classes] == ["background", "cyclist", "person"]
    objects = {r["sample_id"]: r for r in result.rows if r["class_key"] != "background"}
    backgrounds = {r["sample_id"]: r for r in result.rows if r["class_key"] == "background"}
    assert all(r["class_index"] == 0 for r in backgrounds.values())
    assert len(backgrounds) == len(objects)  # this fixture leaves room for one per object: balanced
    annotated = {stem: [r["box"] for r in objects.values() if r["path"].endswith(f"{stem}.jpg")] for stem in SPLIT}
    annotated["010003"].append([150, 10, 170, 40])  # an out-of-image object is still avoided
    for sample_id, bg in backgrounds.items():
        stem, k = sample_id.split("_bg")
        obj = objects[f"{stem}_{k}"]
        x0, y0, x1, y1 = bg["box"]
        assert (x1 - x0, y1 - y0) == (obj["box"][2] - obj["box"][0], obj["box"][3] - obj["box"][1])
        assert 0 <= x0 and 0 <= y0 and x1 <= W and y1 <= H
        for a in annotated[stem]:
            assert min(x1, a[2]) <= max(x0, a[0]) or min(y1, a[3]) <= max(y0, a[1]), (sample_id, a)
        assert (bg["split"], bg["path"], bg["paired_path"]) == (obj["split"], obj["path"], obj["paired_path"])
    again = read(dataset, background_crops=True, seed=3)
    assert again.rows == result.rows
    other = read(dataset, background_crops=True, seed=4)
    assert [r["box"] for r in other.rows] != [r["box"] for r in result.rows]


def test_background_is_skipped_when_no_free_box(tmp_path):
    root = tmp_path / "full"
    for sub in ("infrared/train", "visible/train", "Annotations"):
        (root / sub).mkdir(parents=True)
    Image.new("L", (W, H)).save(root / "infrared/train/000001.jpg")
    (root / "Annotations/000001.xml").write_text(voc([("person", (0, 0, W, H))]))
    result = read(root, background_crops=True)
    assert [r["sample_id"] for r in result.rows] == ["000001_0"]


def test_missing_folders_are_named(tmp_path):
    (tmp_path / "infrared").mkdir()
    with pytest.raises(DatasetLayoutError) as info:
        read(tmp_path)
    assert str(tmp_path / "visible") in str(info.value) and str(tmp_path / "Annotations") in str(info.value)
    assert str(tmp_path / "infrared") not in str(info.value)


def test_demo_round_trip(tmp_path):
    digits = load_demo_digits(max_per_class=3)
    captions = demo_writer.write(tmp_path, digits, np.random.default_rng(0))
    result = read(tmp_path)
    assert not result.quarantine and len(result.rows) == len(digits)
    assert all(r["path"] in captions and r["paired_path"] in captions for r in result.rows)
    assert [c.key for c in result.classes] == sorted({digits.name(i) for i in range(len(digits))})


def test_archive_top_folder_bad_images_and_canonical_indices(dataset, tmp_path):
    """Pointed at the folder holding LLVIP/; a cut infrared image is quarantined with its reason, the other
    frames are intact; with the shipped list person keeps index 1 even without background crops."""
    (dataset / "infrared" / "train" / "010002.jpg").write_bytes(b"\xff\xd8\xff")  # a cut JPEG
    for stem in ("190001", "190002", "190003", "190009"):  # only the cyclist-free annotations remain
        (dataset / "Annotations" / f"{stem}.xml").unlink()
    result = read(tmp_path, classnames="llvip")
    assert [(c.index, c.key) for c in result.classes] == [(0, "background"), (1, "person")]
    assert {r["sample_id"]: (r["class_index"], r["path"]) for r in result.rows} == {
        "010001_0": (1, "LLVIP/infrared/train/010001.jpg"), "010001_1": (1, "LLVIP/infrared/train/010001.jpg"),
        "010003_0": (1, "LLVIP/infrared/train/010003.jpg")}
    assert result.missing_classes()[0].key == "background"
    reasons = {q["path"]: q["reason"] for q in result.quarantine}
    assert reasons["LLVIP/infrared/train/010002.jpg"].startswith("not a readable image header")
    assert reasons["LLVIP/Annotations/010003.xml"].startswith("object 1 box")
    assert len(reasons) == 2
    assert read(dataset, classnames="llvip").rows[0]["path"] == "infrared/train/010001.jpg"


def test_a_copy_of_the_test_split_alone_skips_the_train_annotations(dataset):
    import shutil

    for kind in ("infrared", "visible"):
        shutil.rmtree(dataset / kind / "train")
    result = read(dataset, background_crops=True)
    assert {r["path"].split("/")[1] for r in result.rows} == {"test"} and result.rows
    assert {r["split"] for r in result.rows} == {"test"}
    reasons = {q["path"] for q in result.quarantine}  # only the broken test annotations, not the train ones
    assert reasons == {"Annotations/190002.xml", "Annotations/190003.xml"}
