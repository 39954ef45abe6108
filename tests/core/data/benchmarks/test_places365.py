"""Places365-Standard reader on a fixture in the real layout: file lists, data_256/ and val_256/."""
from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from unibind_core.data.benchmarks.classnames import shipped_classes
from unibind_core.data.benchmarks.manifest import DatasetLayoutError, hashed_split
from unibind_core.data.benchmarks.readers.places365 import display_name, read

SHIPPED = shipped_classes("places365")
TRAIN = [
    "/a/airfield/00000001.jpg 0",
    "/a/airfield/00000002.jpg 0",
    "/a/apartment_building/outdoor/00000001.jpg 8",
    "/z/zen_garden/00000001.jpg 364",
    "/z/zen_garden/00000002.jpg 0",  # 5: the label disagrees with the folder
    "/a/airfield/00000003.jpg 0",  # 6: missing
    "/a/airfield/00000004.jpg 0",  # 7: zero bytes
    "/a/airfield/../../../../etc/passwd 0",  # 8: climbs out of the root
    "/a/airfield/00000005.jpg 999",  # 9: no such class
]
VAL = ["Places365_val_00000001.jpg 8", "Places365_val_00000002.jpg 364", "Places365_val_00000003.jpg 0",
       "../data_256/a/airfield/00000001.jpg 0"]


def write_places365(root: Path, train_dir: str = "data_256", val_dir: str = "val_256") -> Path:
    root.mkdir(parents=True)
    (root / "categories_places365.txt").write_text("".join(f"{c.key} {c.index}\n" for c in SHIPPED))
    (root / "places365_train_standard.txt").write_text("\n".join(TRAIN) + "\n")
    (root / "places365_val.txt").write_text("\n".join(VAL) + "\n")
    for line in TRAIN[:5] + [TRAIN[8]]:
        path = root / train_dir / line.split()[0].lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (16, 16), (30, 60, 90)).save(path)
    (root / train_dir / "a/airfield/00000004.jpg").write_bytes(b"")
    (root / val_dir).mkdir()
    for name in ("Places365_val_00000001.jpg", "Places365_val_00000002.jpg"):
        Image.new("RGB", (16, 16), (90, 60, 30)).save(root / val_dir / name)
    return root


@pytest.fixture
def dataset(tmp_path) -> Path:
    return write_places365(tmp_path / "places365")


def test_display_names():
    assert display_name("/a/apartment_building/outdoor") == "apartment building (outdoor)"
    assert display_name("/u/underwater/ocean_deep") == "underwater (ocean deep)"
    assert display_name("/a/airfield") == "airfield"
    assert [c.name for c in SHIPPED[:3]] == ["airfield", "airplane cabin", "airport terminal"]


def test_reads_every_field(dataset):
    result = read(dataset, eval_fraction=0.5)
    assert len(result.classes) == 365 and result.classes[8].key == "/a/apartment_building/outdoor"
    rows = {r["sample_id"]: r for r in result.rows}
    assert sorted(rows) == ["Places365_val_00000001", "Places365_val_00000002", "a/airfield/00000001",
                            "a/airfield/00000002", "a/apartment_building/outdoor/00000001", "z/zen_garden/00000001"]
    sid = "a/apartment_building/outdoor/00000001"
    assert rows[sid] == {"sample_id": sid, "split": hashed_split(sid, 0.5), "class_index": 8,
                         "class_key": "/a/apartment_building/outdoor", "class_name": "apartment building (outdoor)",
                         "path": "data_256/a/apartment_building/outdoor/00000001.jpg"}
    assert rows["Places365_val_00000002"] == {"sample_id": "Places365_val_00000002", "split": "test",
                                              "class_index": 364, "class_key": "/z/zen_garden",
                                              "class_name": "zen garden", "path": "val_256/Places365_val_00000002.jpg"}
    for s, r in rows.items():
        assert r["split"] == ("test" if s.startswith("Places365_val") else hashed_split(s, 0.5))
        assert (dataset / r["path"]).is_file()


def test_bad_lines_and_files_are_quarantined(dataset):
    reasons = {q["path"]: q["reason"] for q in read(dataset).quarantine}
    assert reasons == {
        "data_256/z/zen_garden/00000002.jpg": "label 0 is /a/airfield, the file is in /z/zen_garden",
        "data_256/a/airfield/00000003.jpg": "listed but missing on disk",
        "data_256/a/airfield/00000004.jpg": "empty file (0 bytes)",
        "data_256/a/airfield/../../../../etc/passwd":
            "label 0 is /a/airfield, the file is in /a/airfield/../../../../etc",
        "places365_train_standard.txt:9": "label '999' is not a class index",
        "val_256/Places365_val_00000003.jpg": "listed but missing on disk",
        "places365_val.txt:4": "bad val file name '../data_256/a/airfield/00000001.jpg'",
    }


def test_large_image_folders_and_explicit_folders(tmp_path):
    result = read(write_places365(tmp_path / "large", "data_large", "val_large"))
    assert {r["path"].split("/")[0] for r in result.rows} == {"data_large", "val_large"}
    explicit = read(write_places365(tmp_path / "custom", "imgs", "valimgs"), train_dir="imgs", val_dir="valimgs")
    assert len(explicit.rows) == 6


def test_layout_errors_name_what_is_expected(tmp_path, dataset):
    (tmp_path / "bare").mkdir()
    with pytest.raises(DatasetLayoutError, match="categories_places365.txt"):
        read(tmp_path / "bare")
    assert len(read(tmp_path).rows) == len(read(dataset).rows)  # the folder above the dataset works too
    (dataset / "data_256").rename(dataset / "elsewhere")
    with pytest.raises(DatasetLayoutError) as info:
        read(dataset)
    assert all(str(dataset / d) in str(info.value) for d in ("data_256", "train_256", "data_large"))


def test_class_list_on_disk_is_checked_against_the_shipped_one(dataset):
    categories = dataset / "categories_places365.txt"
    lines = categories.read_text().splitlines()
    lines[0], lines[1] = "/a/airplane_cabin 0", "/a/airfield 1"  # two classes swapped
    categories.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetLayoutError, match="'/a/airplane_cabin' is class 0 on disk, 1 in the list"):
        read(dataset)
    assert read(dataset, classnames=None).classes[0].key == "/a/airplane_cabin"  # opt-out uses the disk list
    categories.write_text("/a/airfield 0\n/a/alcove 2\n")
    with pytest.raises(DatasetLayoutError, match="not 0..1"):
        read(dataset, classnames=None)


def test_val_only_copy_of_a_subset_keeps_canonical_indices(tmp_path):
    """The official file lists + val_256/ alone (the usual evaluation download), holding two categories."""
    root = tmp_path / "places365"
    root.mkdir()
    (root / "categories_places365.txt").write_text("".join(f"{c.key} {c.index}\n" for c in SHIPPED))
    (root / "places365_val.txt").write_text("Places365_val_00000001.jpg 8\nPlaces365_val_00000002.jpg 364\n"
                                            "Places365_val_00000003.jpg 100\nPlaces365_val_00000004.jpg 8\n")
    (root / "val_256").mkdir()
    for name in ("Places365_val_00000001.jpg", "Places365_val_00000002.jpg"):
        Image.new("RGB", (16, 16)).save(root / "val_256" / name)
    (root / "val_256" / "Places365_val_00000004.jpg").write_bytes(b"\x89PNG\r\n\x1a\n cut")
    result = read(tmp_path)
    assert [(r["sample_id"], r["class_index"], r["split"], r["path"]) for r in result.rows] == [
        ("Places365_val_00000001", 8, "test", "places365/val_256/Places365_val_00000001.jpg"),
        ("Places365_val_00000002", 364, "test", "places365/val_256/Places365_val_00000002.jpg")]
    assert len(result.classes) == 365 and len(result.missing_classes()) == 363
    reasons = {q["path"]: q["reason"] for q in result.quarantine}
    assert list(reasons) == ["places365/val_256/Places365_val_00000004.jpg"]
    assert reasons["places365/val_256/Places365_val_00000004.jpg"].startswith("not a readable image header")


def write_easyformat(top: Path) -> Path:
    """places365standard_easyformat.tar: places365_standard/{train,val}/<category with - for />/*.jpg."""
    for split, folder, name in (("train", "airfield", "00000001.jpg"), ("train", "airfield", "00000002.jpg"),
                                ("train", "apartment_building-outdoor", "00000001.jpg"),
                                ("val", "apartment_building-outdoor", "Places365_val_00000009.jpg"),
                                ("val", "zen_garden", "Places365_val_00000010.jpg")):
        path = top / split / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (16, 16), (10, 20, 30)).save(path)
    (top / "train" / "airfield" / "00000003.jpg").write_bytes(b"")
    (top / "val" / "zen_garden" / "Places365_val_00000011.jpg").write_text("<html>not found</html>")
    return top


def test_easyformat_subset_keeps_canonical_indices(tmp_path):
    top = write_easyformat(tmp_path / "places365_standard")
    result = read(tmp_path, eval_fraction=0.5)
    assert [r["path"] for r in read(top, eval_fraction=0.5).rows] == [
        r["path"].removeprefix("places365_standard/") for r in result.rows]
    rows = {r["sample_id"]: r for r in result.rows}
    assert sorted(rows) == ["Places365_val_00000009", "Places365_val_00000010", "a/airfield/00000001",
                            "a/airfield/00000002", "a/apartment_building/outdoor/00000001"]
    sid = "a/apartment_building/outdoor/00000001"
    assert rows[sid] == {"sample_id": sid, "split": hashed_split(sid, 0.5), "class_index": 8,
                         "class_key": "/a/apartment_building/outdoor", "class_name": "apartment building (outdoor)",
                         "path": "places365_standard/train/apartment_building-outdoor/00000001.jpg"}
    assert rows["Places365_val_00000010"]["class_index"] == 364 and rows["Places365_val_00000010"]["split"] == "test"
    assert len(result.classes) == 365 and len(result.missing_classes()) == 362
    reasons = {q["path"]: q["reason"] for q in result.quarantine}
    assert reasons["places365_standard/train/airfield/00000003.jpg"] == "empty file (0 bytes)"
    assert reasons["places365_standard/val/zen_garden/Places365_val_00000011.jpg"].startswith("not a readable image")
    assert len(reasons) == 2
    (top / "train" / "not_a_place").mkdir()
    with pytest.raises(DatasetLayoutError, match="no category of the class list: not_a_place"):
        read(top)
