"""Caltech-101 reader on a fixture in the real layout, and the demo world's copy read back."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unibind_core.data.benchmarks.manifest import DatasetLayoutError, hashed_split
from unibind_core.data.benchmarks.readers.caltech101 import read
from unibind_core.demo.digits import load_demo_digits
from unibind_core.demo.writers import caltech101 as demo_writer
from unibind_core.data.modalities.image import load


@pytest.fixture
def dataset(tmp_path) -> Path:
    root = tmp_path / "caltech101"
    top = root / "101_ObjectCategories"
    for folder, n in (("BACKGROUND_Google", 2), ("Faces_easy", 3), ("Leopards", 2), ("airplanes", 2)):
        (top / folder).mkdir(parents=True)
        for k in range(1, n + 1):
            Image.new("RGB", (30, 20), (10 * k, 80, 200)).save(top / folder / f"image_{k:04d}.jpg")
    (top / "airplanes" / "image_0003.jpg").write_bytes(b"")  # zero bytes
    (top / "airplanes" / "notes.txt").write_text("not an image")
    (top / "Leopards" / ".DS_Store").write_bytes(b"\x00\x01")  # hidden: skipped silently
    (top / ".cache").mkdir()  # hidden folder: not a class
    (top / "README").write_text("stray")
    return root


def test_reads_every_field(dataset):
    result = read(dataset)
    assert [(c.index, c.key, c.name) for c in result.classes] == [
        (0, "Faces_easy", "faces easy"), (1, "Leopards", "leopards"), (2, "airplanes", "airplanes")]
    rows = {r["sample_id"]: r for r in result.rows}
    assert sorted(rows) == ["Faces_easy/image_0001", "Faces_easy/image_0002", "Faces_easy/image_0003",
                            "Leopards/image_0001", "Leopards/image_0002", "airplanes/image_0001",
                            "airplanes/image_0002"]
    assert rows["Leopards/image_0002"] == {
        "sample_id": "Leopards/image_0002", "split": hashed_split("Leopards/image_0002", 0.1, 0.3),
        "class_index": 1, "class_key": "Leopards", "class_name": "leopards",
        "path": "101_ObjectCategories/Leopards/image_0002.jpg"}
    for sid, row in rows.items():
        assert row["split"] == hashed_split(sid, 0.1, 0.3)
        assert (dataset / row["path"]).is_file()


def test_bad_files_are_quarantined_with_reasons(dataset):
    quarantine = {q["path"]: q["reason"] for q in read(dataset).quarantine}
    assert set(quarantine) == {"101_ObjectCategories/airplanes/image_0003.jpg",
                               "101_ObjectCategories/airplanes/notes.txt", "101_ObjectCategories/README"}
    assert "0 bytes" in quarantine["101_ObjectCategories/airplanes/image_0003.jpg"]
    assert "suffix" in quarantine["101_ObjectCategories/airplanes/notes.txt"]


def test_exclusion_and_fractions_are_options(dataset):
    result = read(dataset, exclude=(), eval_fraction=0.0, test_fraction=1.0)
    assert [c.key for c in result.classes][0] == "BACKGROUND_Google"
    assert {r["split"] for r in result.rows} == {"test"}
    assert read(dataset, exclude=("BACKGROUND_Google", "Leopards")).classes[1].key == "airplanes"


def test_manifest_table_is_sorted_and_complete(dataset):
    table = read(dataset).manifest()
    assert table.num_rows == 7 and table["sample_id"].to_pylist() == sorted(table["sample_id"].to_pylist())
    assert table["paired_path"].null_count == 7 and table["box"].null_count == 7


def test_missing_layout_names_the_expected_folder(tmp_path):
    with pytest.raises(DatasetLayoutError, match=re.escape(str(tmp_path / "nowhere" / "101_ObjectCategories"))):
        read(tmp_path / "nowhere")
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "101_ObjectCategories").write_text("a file, not a folder")
    with pytest.raises(DatasetLayoutError, match="found a file"):
        read(tmp_path / "flat")


def test_demo_copy_reads_back_with_its_labels(tmp_path):
    digits = load_demo_digits(max_per_class=2)
    captions = demo_writer.write(tmp_path, digits, np.random.default_rng(0))
    result = read(tmp_path)
    assert [c.key for c in result.classes] == sorted(["zero", "one", "two", "three", "four", "five", "six", "seven",
                                                     "eight", "nine"])
    assert {r["path"] for r in result.rows} == set(captions) and not result.quarantine
    for row in result.rows:
        assert row["class_key"] == row["path"].split("/")[1] == row["class_name"]
        image = load(tmp_path, row, size=16, channels=1)
        assert image.shape == (1, 16, 16) and 0.0 <= float(image.min()) < float(image.max()) <= 1.0


def test_loader_refuses_a_path_escaping_the_root(dataset, tmp_path):
    Image.new("L", (8, 8)).save(tmp_path / "outside.jpg")
    with pytest.raises(ValueError, match="escapes the dataset root"):
        load(dataset, {"path": "../outside.jpg", "box": None}, size=8)
