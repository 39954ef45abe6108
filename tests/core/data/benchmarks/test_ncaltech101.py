"""N-Caltech101: the 40-bit event format, the reader on a real-layout fixture, pairing with Caltech-101."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from unibind_core.data.benchmarks.manifest import DatasetLayoutError, hashed_split
from unibind_core.data.benchmarks.readers import caltech101 as image_reader
from unibind_core.data.benchmarks.readers.ncaltech101 import read
from unibind_core.demo.digits import load_demo_digits
from unibind_core.demo.writers import caltech101 as image_writer
from unibind_core.demo.writers import ncaltech101 as event_writer
from unibind_core.data.modalities.event import load
from unibind_core.data.modalities.events_format import decode_events, encode_events


def some_events(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"x": rng.integers(0, 240, n), "y": rng.integers(0, 180, n),
            "t": np.sort(rng.integers(0, (1 << 23) - 1, n)), "p": rng.integers(0, 2, n)}


def test_format_bit_layout():
    assert encode_events([1], [2], [0x012345], [1]) == bytes([0x01, 0x02, 0x81, 0x23, 0x45])
    assert encode_events([255], [0], [(1 << 23) - 1], [0]) == bytes([0xFF, 0x00, 0x7F, 0xFF, 0xFF])
    assert encode_events([3], [4], [5], [-1]) == bytes([3, 4, 0, 0, 5])  # -1 polarity is OFF


def test_decode_returns_exactly_the_events_encoded():
    ev = some_events(1000)
    ev["t"][-1] = (1 << 23) - 1
    decoded = decode_events(encode_events(ev["x"], ev["y"], ev["t"], ev["p"]))
    for key in ("x", "y", "t", "p"):
        np.testing.assert_array_equal(decoded[key], ev[key])
    assert set(np.unique(decoded["p"])) == {0, 1}


def test_format_refuses_bad_input():
    with pytest.raises(ValueError, match="not a whole number of 5-byte events"):
        decode_events(b"\x00" * 12)
    with pytest.raises(ValueError, match="field t"):
        encode_events([0], [0], [1 << 23], [1])
    with pytest.raises(ValueError, match="field x"):
        encode_events([256], [0], [0], [1])
    with pytest.raises(ValueError, match="differ in length"):
        encode_events([0, 1], [0], [0], [1])
    assert {k: len(v) for k, v in decode_events(b"").items()} == {"x": 0, "y": 0, "t": 0, "p": 0}


@pytest.fixture
def dataset(tmp_path) -> Path:
    root = tmp_path / "ncaltech101"
    for folder, n in (("BACKGROUND_Google", 1), ("Faces_easy", 2), ("airplanes", 2)):
        (root / "Caltech101" / folder).mkdir(parents=True)
        for k in range(1, n + 1):
            ev = some_events(50 + k, seed=k)
            (root / "Caltech101" / folder / f"image_{k:04d}.bin").write_bytes(
                encode_events(ev["x"], ev["y"], ev["t"], ev["p"]))
    bad = root / "Caltech101" / "airplanes"
    (bad / "image_0003.bin").write_bytes(b"\x00" * 12)  # truncated
    (bad / "image_0004.bin").write_bytes(b"")
    (bad / "image_0005.jpg").write_bytes(b"\xff\xd8")
    return root


def test_reads_every_field_with_paired_image_paths(dataset):
    result = read(dataset)
    assert [(c.index, c.key, c.name) for c in result.classes] == [(0, "Faces_easy", "faces easy"),
                                                                 (1, "airplanes", "airplanes")]
    rows = {r["sample_id"]: r for r in result.rows}
    assert sorted(rows) == ["Faces_easy/image_0001", "Faces_easy/image_0002", "airplanes/image_0001",
                            "airplanes/image_0002"]
    assert rows["airplanes/image_0002"] == {
        "sample_id": "airplanes/image_0002", "split": hashed_split("airplanes/image_0002", 0.1, 0.3),
        "class_index": 1, "class_key": "airplanes", "class_name": "airplanes",
        "path": "Caltech101/airplanes/image_0002.bin",
        "paired_path": "101_ObjectCategories/airplanes/image_0002.jpg"}
    custom = read(dataset, paired_root_name="imgs", paired_suffix=".png")
    assert custom.rows[0]["paired_path"] == "imgs/Faces_easy/image_0001.png"


def test_recordings_decode_to_what_was_written(dataset):
    for row in read(dataset).rows:
        k = int(row["sample_id"][-1])
        expected, decoded = some_events(50 + k, seed=k), decode_events((dataset / row["path"]).read_bytes())
        for key in ("x", "y", "t", "p"):
            np.testing.assert_array_equal(decoded[key], expected[key])


def test_bad_recordings_are_quarantined_with_reasons(dataset):
    quarantine = {q["path"]: q["reason"] for q in read(dataset).quarantine}
    assert set(quarantine) == {f"Caltech101/airplanes/image_000{k}" for k in ("3.bin", "4.bin", "5.jpg")}
    assert "not a multiple of 5" in quarantine["Caltech101/airplanes/image_0003.bin"]
    assert "0 bytes" in quarantine["Caltech101/airplanes/image_0004.bin"]
    assert ".bin" in quarantine["Caltech101/airplanes/image_0005.jpg"]


def test_missing_layout_names_the_expected_folder(tmp_path):
    (tmp_path / "wrong" / "101_ObjectCategories").mkdir(parents=True)
    with pytest.raises(DatasetLayoutError, match=re.escape(str(tmp_path / "wrong" / "Caltech101"))):
        read(tmp_path / "wrong")


def test_demo_pairs_share_ids_and_splits_with_the_images(tmp_path):
    digits = load_demo_digits(max_per_class=3)
    image_writer.write(tmp_path / "img", digits, np.random.default_rng(0))
    event_writer.write(tmp_path / "ev", digits, np.random.default_rng(1))
    images = {r["sample_id"]: r for r in image_reader.read(tmp_path / "img").rows}
    events = read(tmp_path / "ev").rows
    assert len(events) == len(images) == len(digits)
    for row in events:
        image = images[row["sample_id"]]
        assert (row["split"], row["class_index"], row["class_key"]) == (image["split"], image["class_index"],
                                                                       image["class_key"])
        assert row["paired_path"] == image["path"] and (tmp_path / "img" / row["paired_path"]).is_file()
        frame = load(tmp_path / "ev", row, size=32)
        assert frame.shape == (2, 32, 32) and float(frame.max()) == 1.0 and float(frame.min()) == 0.0


def test_loader_refuses_traversal_and_names_corrupt_files(dataset):
    with pytest.raises(ValueError, match="escapes the dataset root"):
        load(dataset, {"path": "../../etc/passwd"})
    with pytest.raises(ValueError, match="image_0003.bin"):
        load(dataset, {"path": "Caltech101/airplanes/image_0003.bin"})
