"""RGB-T reader on a fixture in the KAIST multispectral layout: bbGt text boxes, lwir/visible pairs, balanced
person-vs-background crops."""
from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from unibind_core.data.benchmarks.manifest import DatasetLayoutError, hashed_split
from unibind_core.data.benchmarks.readers.kaist import parse_bbgt, read
from unibind_core.data.modalities.image import load  # the thermal loader

W, H = 160, 128
HEADER = "% bbGt version=3\n"


def box_line(label: str, left: float, top: float, width: float, height: float) -> str:
    return f"{label} {left} {top} {width} {height} 0 0 0 0 0 0 0\n"


ANNOTATIONS = {  # (set, video, frame) -> annotation text
    ("set00", "V000", "I00000"): HEADER + box_line("person", 10, 20, 30, 60) + box_line("people", 100, 30, 40, 50),
    ("set00", "V000", "I00001"): HEADER + box_line("person", 150, 10, 20, 40) + box_line("cyclist", 5, 5, 20, 20),
    ("set00", "V000", "I00002"): HEADER,  # an empty frame: no samples
    ("set00", "V000", "I00003"): "<annotation>not bbGt</annotation>\n",
    ("set00", "V000", "I00004"): HEADER + "person a b c d 0 0 0 0 0 0 0\n" + box_line("person", 60, 60, 20, 30),
    ("set00", "V001", "I00005"): HEADER + box_line("person", 40, 40, 10, 20),  # no lwir image on disk
    ("set00", "V001", "I00006"): HEADER + box_line("person?", 40, 40, 10, 20) + box_line("person", 0, 0, 8, 16),
    ("set06", "V000", "I00000"): HEADER + box_line("person", 70, 50, 25, 50),  # test set; no visible frame
}


def write_kaist(root: Path, images_level: bool = True) -> Path:
    images = root / "images" if images_level else root
    for (set_name, video, frame), text in ANNOTATIONS.items():
        path = root / "annotations" / set_name / video / f"{frame}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        for kind in ("lwir", "visible"):
            if (frame == "I00005") or (kind == "visible" and set_name == "set06"):
                continue
            image = images / set_name / video / kind / f"{frame}.jpg"
            image.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (W, H), (200, 200, 200) if kind == "lwir" else (20, 90, 40)).save(image)
    return root


@pytest.fixture
def dataset(tmp_path) -> Path:
    return write_kaist(tmp_path / "kaist-rgbt")


def test_parse_bbgt(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(HEADER + box_line("person", 1.4, 2.6, 10, 20) + "person x 1 2 3\n" + "\n")
    assert parse_bbgt(path) == [("person", [1, 3, 11, 23]), ("person", None)]


def test_reads_every_field(dataset):
    result = read(dataset, eval_fraction=0.5, background_crops=False)
    assert [(c.index, c.key, c.name) for c in result.classes] == [(0, "background", "background"),
                                                                 (1, "person", "person")]
    rows = {r["sample_id"]: r for r in result.rows}
    assert sorted(rows) == ["set00_V000_I00000_0", "set00_V000_I00001_0", "set00_V000_I00004_1",
                            "set00_V001_I00006_1", "set06_V000_I00000_0"]
    assert rows["set00_V000_I00000_0"] == {
        "sample_id": "set00_V000_I00000_0", "split": hashed_split("set00/V000", 0.5), "class_index": 1,
        "class_key": "person", "class_name": "person", "path": "images/set00/V000/lwir/I00000.jpg",
        "paired_path": "images/set00/V000/visible/I00000.jpg", "box": [10, 20, 40, 80]}
    assert rows["set00_V000_I00001_0"]["box"] == [150, 10, W, 50]  # runs past the border: clipped
    assert rows["set06_V000_I00000_0"]["split"] == "test" and rows["set06_V000_I00000_0"]["paired_path"] is None
    assert rows["set00_V001_I00006_1"]["split"] == hashed_split("set00/V001", 0.5)  # eval is carved per video
    crop = load(dataset, rows["set00_V000_I00000_0"], size=8)
    assert crop.shape == (3, 8, 8) and float(crop.min()) > 0.7  # the bright thermal frame, not the visible one


def test_bad_annotations_are_quarantined(dataset):
    reasons = {q["path"]: q["reason"] for q in read(dataset).quarantine}
    assert reasons == {
        "annotations/set00/V000/I00003.txt": "not a bbGt annotation: the first line should be '% bbGt version=3'",
        "annotations/set00/V000/I00004.txt": "object 0 has no complete numeric box",
        "annotations/set00/V001/I00005.txt": "no lwir/I00005.jpg beside this annotation",
    }


def test_background_crops_are_balanced_and_avoid_every_box(dataset):
    result = read(dataset, seed=3)
    persons = {r["sample_id"]: r for r in result.rows if r["class_key"] == "person"}
    backgrounds = {r["sample_id"]: r for r in result.rows if r["class_key"] == "background"}
    assert len(backgrounds) == len(persons) == 5 and all(r["class_index"] == 0 for r in backgrounds.values())
    every_box = {"set00_V000_I00000": [[10, 20, 40, 80], [100, 30, 140, 80]],  # the 'people' box is avoided too
                 "set00_V000_I00001": [[150, 10, W, 50], [5, 5, 25, 25]],
                 "set00_V000_I00004": [[60, 60, 80, 90]], "set00_V001_I00006": [[40, 40, 50, 60], [0, 0, 8, 16]],
                 "set06_V000_I00000": [[70, 50, 95, 100]]}
    for sample_id, bg in backgrounds.items():
        frame, k = sample_id.rsplit("_bg", 1)
        person = persons[f"{frame}_{k}"]
        x0, y0, x1, y1 = bg["box"]
        assert (x1 - x0, y1 - y0) == (person["box"][2] - person["box"][0], person["box"][3] - person["box"][1])
        assert 0 <= x0 and 0 <= y0 and x1 <= W and y1 <= H
        for a in every_box[frame]:
            assert min(x1, a[2]) <= max(x0, a[0]) or min(y1, a[3]) <= max(y0, a[1]), (sample_id, a)
        assert (bg["split"], bg["path"], bg["paired_path"]) == (person["split"], person["path"], person["paired_path"])
    assert read(dataset, seed=3).rows == result.rows


def test_frame_stride_layout_without_images_level_and_errors(tmp_path):
    root = write_kaist(tmp_path / "flat", images_level=False)
    result = read(root, frame_stride=2, background_crops=False)
    assert sorted(r["sample_id"] for r in result.rows) == ["set00_V000_I00000_0", "set00_V000_I00004_1",
                                                          "set00_V001_I00006_1", "set06_V000_I00000_0"]
    assert result.rows[0]["path"].startswith("set00/V000/lwir/")
    (tmp_path / "bare").mkdir()
    with pytest.raises(DatasetLayoutError, match=r"annotations/setXX/VYYY/IZZZZZ.txt\) at \S*bare/annotations"):
        read(tmp_path / "bare")


def test_subset_of_videos_at_the_archive_level_and_bad_images(dataset, tmp_path):
    """Pointed at the folder holding kaist-rgbt/, with the images of one video not copied (its annotations
    are skipped, not quarantined) and one thermal frame cut inside its header."""
    import shutil

    shutil.rmtree(dataset / "images" / "set00" / "V001")
    (dataset / "images" / "set00" / "V000" / "lwir" / "I00004.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00")
    result = read(tmp_path, background_crops=False)
    assert sorted(r["sample_id"] for r in result.rows) == ["set00_V000_I00000_0", "set00_V000_I00001_0",
                                                          "set06_V000_I00000_0"]
    assert {r["class_index"] for r in result.rows} == {1} and len(result.classes) == 2
    assert result.rows[0]["path"].startswith("kaist-rgbt/images/set00/V000/lwir/")
    reasons = {q["path"]: q["reason"] for q in result.quarantine}
    assert set(reasons) == {"kaist-rgbt/annotations/set00/V000/I00003.txt",
                            "kaist-rgbt/images/set00/V000/lwir/I00004.jpg"}
    assert reasons["kaist-rgbt/images/set00/V000/lwir/I00004.jpg"].startswith("not a readable image header")
