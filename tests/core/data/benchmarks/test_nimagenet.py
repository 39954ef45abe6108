"""N-ImageNet reader on a fixture in the release layout: .npz event archives and list files holding the
authors' absolute paths, re-rooted onto the dataset root."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from unibind_core.data.benchmarks.classnames import shipped_classes
from unibind_core.data.benchmarks.manifest import DatasetLayoutError, hashed_split
from unibind_core.data.benchmarks.readers.nimagenet import re_root, read
from unibind_core.data.modalities.event import load
from unibind_core.data.modalities.events_format import read_npz_events

AUTHORS = "/home/jhkim/Datasets/N_Imagenet"
EVENT_DTYPE = [("x", "<u2"), ("y", "<u2"), ("t", "<i8"), ("p", "?")]  # as in the release's event_data


def events(seed: int, n: int = 500) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.zeros(n, dtype=EVENT_DTYPE)
    out["x"], out["y"] = rng.integers(0, 640, n), rng.integers(0, 480, n)
    out["t"], out["p"] = np.sort(rng.integers(0, 60_000, n)), rng.integers(0, 2, n).astype(bool)
    return out


def write_recording(path: Path, seed: int, layout: str = "event_data") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ev = events(seed)
    if layout == "event_data":
        np.savez_compressed(path, event_data=ev)
    else:  # the older layout the authors' loader also reads: one array per field
        np.savez(path, x_pos=ev["x"], y_pos=ev["y"], timestamp=ev["t"], polarity=ev["p"])


TRAIN = {  # list line -> (seed, how the file is written)
    f"{AUTHORS}/extracted_train/n01440764/n01440764_10026.npz": (1, "event_data"),
    f"{AUTHORS}/extracted_train/n01440764/n01440764_10027.npz": (2, "fields"),
    "D:\\data\\N_Imagenet\\extracted_train\\n01443537\\n01443537_1.npz": (3, "event_data"),  # Windows path
    f"{AUTHORS}/extracted_train/n01443537/n01443537_2.npz": (4, "truncated"),
    f"{AUTHORS}/extracted_train/n01443537/n01443537_3.npz": (5, "text"),
    f"{AUTHORS}/extracted_train/n01443537/n01443537_4.npz": (6, None),  # missing
    f"{AUTHORS}/extracted_train/n01530575/n01530575_1.npz": (7, None),  # a class this copy does not hold
    f"{AUTHORS}/extracted_train/n01443537/n01443537_5.npz": (11, "other keys"),
    f"{AUTHORS}/extracted_train/n01443537/n01443537_6.npz": (12, "text field"),
    f"{AUTHORS}/extracted_train/n01440764/../../secret.npz": (8, None),
    "garbage": (9, None),
    f"{AUTHORS}/extracted_train/n01440764/n01440764_10026.npz ": (1, None),  # the same file again
}
VAL = {f"{AUTHORS}/extracted_val/n15075141/ILSVRC2012_val_00000293.npz": (10, "event_data")}


def write_nimagenet(root: Path) -> Path:
    lists = (("train_list.txt", "extracted_train", TRAIN), ("val_list.txt", "extracted_val", VAL))
    for list_name, folder, lines in lists:
        (root / folder).mkdir(parents=True)
        (root / list_name).write_text("\n".join(lines) + "\n\n")
        for line, (seed, how) in lines.items():
            relative = re_root(line, folder)
            if how is None or relative is None:
                continue
            path = root / relative
            write_recording(path, seed, "fields" if how == "fields" else "event_data")
            if how == "other keys":
                np.savez(path, frames=np.zeros((2, 2)))
            elif how == "text field":
                np.savez_compressed(path, event_data=np.zeros(3, dtype=[("x", "U4"), ("y", "i2"), ("t", "i8"),
                                                                        ("p", "?")]))
            elif how == "truncated":
                path.write_bytes(path.read_bytes()[:-40])
            elif how == "text":
                path.write_text("not an archive")
    return root


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return write_nimagenet(tmp_path_factory.mktemp("nin") / "N_Imagenet")


def test_re_root_keeps_only_the_wnid_and_file():
    assert re_root(f"{AUTHORS}/extracted_train/n01440764/a.npz", "extracted_train") == "extracted_train/n01440764/a.npz"
    assert re_root("C:\\x\\n01440764\\b.npz", "extracted_val") == "extracted_val/n01440764/b.npz"
    for bad in ("n01440764/../x.npz", "/a/n01440764/.hidden.npz", "/a/n0144/b.npz", "/a/n01440764/b.txt", "b.npz"):
        assert re_root(bad, "extracted_train") is None


def test_reads_every_field(dataset):
    result = read(dataset, eval_fraction=0.5)
    assert [(c.index, c.key, c.name) for c in result.classes] == [
        (c.index, c.key, c.name) for c in shipped_classes("imagenet1k")]
    rows = {r["sample_id"]: r for r in result.rows}
    assert sorted(rows) == ["ILSVRC2012_val_00000293", "n01440764_10026", "n01440764_10027", "n01443537_1"]
    assert rows["n01443537_1"] == {"sample_id": "n01443537_1", "split": hashed_split("n01443537_1", 0.5),
                                   "class_index": 1, "class_key": "n01443537", "class_name": "goldfish",
                                   "path": "extracted_train/n01443537/n01443537_1.npz"}
    assert rows["ILSVRC2012_val_00000293"] == {"sample_id": "ILSVRC2012_val_00000293", "split": "test",
                                               "class_index": 999, "class_key": "n15075141",
                                               "class_name": "toilet paper",
                                               "path": "extracted_val/n15075141/ILSVRC2012_val_00000293.npz"}


def test_recordings_decode_to_exactly_the_events_written(dataset):
    seeds = {"n01440764_10026": 1, "n01440764_10027": 2, "n01443537_1": 3, "ILSVRC2012_val_00000293": 10}
    for row in read(dataset).rows:
        written, decoded = events(seeds[row["sample_id"]]), read_npz_events(dataset / row["path"])
        for key in ("x", "y", "t"):
            np.testing.assert_array_equal(decoded[key], written[key])
        np.testing.assert_array_equal(decoded["p"], written["p"].astype(np.int8))
        frame = load(dataset, row, size=32, sensor_size=(640, 480))
        assert frame.shape == (2, 32, 32) and float(frame.max()) == 1.0


def test_broken_lines_and_archives_are_quarantined(dataset):
    reasons = {q["path"]: q["reason"] for q in read(dataset).quarantine}
    assert reasons == {
        "extracted_train/n01443537/n01443537_2.npz":
            "truncated or not a zip (.npz) archive: no end-of-central-directory record",
        "extracted_train/n01443537/n01443537_3.npz": "14 bytes is too short for a zip (.npz) archive",
        "extracted_train/n01443537/n01443537_4.npz": "listed but missing on disk",
        "extracted_train/n01443537/n01443537_5.npz": "holds ['frames.npy'], none of the N-ImageNet layouts "
                                                     "(event_data with x/y/t/p fields, or x_pos/y_pos/timestamp/polarity)",
        "extracted_train/n01443537/n01443537_6.npz":
            "event_data has dtype [('x', '<U4'), ('y', '<i2'), ('t', '<i8'), ('p', '?')], expected numeric fields "
            "x, y, t, p",
        "train_list.txt:10":
            f"does not end in '<wnid>/<file>.npz': '{AUTHORS}/extracted_train/n01440764/../../secret.npz'",
        "train_list.txt:11": "does not end in '<wnid>/<file>.npz': 'garbage'",
        "extracted_train/n01440764/n01440764_10026.npz": "listed more than once",
    }


def test_a_subset_keeps_imagenet_indices_and_an_unknown_wnid_is_an_error(dataset, tmp_path):
    result = read(dataset)
    missing = [c.key for c in result.missing_classes()]
    assert len(missing) == 997 and "n01530575" in missing and "n01443537" not in missing  # 3 classes held
    assert {r["class_key"]: r["class_index"] for r in result.rows}["n15075141"] == 999
    copy = write_nimagenet(tmp_path / "above" / "N_Imagenet")
    assert sorted(r["path"] for r in read(tmp_path / "above").rows) == sorted(
        f"N_Imagenet/{r['path']}" for r in result.rows)  # the folder above works too, paths stay inside it
    write_recording(copy / "extracted_train" / "n99999999" / "n99999999_1.npz", 7)
    (copy / "train_list.txt").write_text((copy / "train_list.txt").read_text()
                                         + f"{AUTHORS}/extracted_train/n99999999/n99999999_1.npz\n")
    with pytest.raises(DatasetLayoutError, match="not in the list: 'n99999999'"):
        read(copy)


def test_loader_refuses_pickles_bombs_and_traversal(tmp_path):
    np.savez(tmp_path / "pickled.npz", event_data=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickled.npz"):
        load(tmp_path, {"path": "pickled.npz"}, size=8, sensor_size=(640, 480))
    write_recording(tmp_path / "big.npz", 1)
    with pytest.raises(ValueError, match="would decompress to"):
        read_npz_events(tmp_path / "big.npz", max_bytes=100)
    np.savez(tmp_path / "other.npz", frames=np.zeros(3))
    with pytest.raises(ValueError, match="none of the N-ImageNet layouts"):
        read_npz_events(tmp_path / "other.npz")
    with pytest.raises(ValueError, match="escapes the dataset root"):
        load(tmp_path, {"path": "../x.npz"})
    with pytest.raises(ValueError, match="unknown format"):
        load(tmp_path, {"path": "x.aedat"})


def test_layout_errors_name_every_missing_piece(tmp_path):
    with pytest.raises(DatasetLayoutError) as info:
        read(tmp_path)
    for piece in ("train_list.txt", "val_list.txt", "extracted_train", "extracted_val"):
        assert str(tmp_path / piece) in str(info.value)
