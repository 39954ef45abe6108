"""ModelNet40 pre-sampled reader and the OFF mesh parser, on fixtures in the real on-disk format."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from unibind_core.data.benchmarks.manifest import DatasetLayoutError, hashed_split
from unibind_core.data.benchmarks.readers.modelnet40 import class_of, read
from unibind_core.demo.digits import load_demo_digits
from unibind_core.demo.writers import modelnet40 as demo_writer
from unibind_core.data.modalities.mesh_format import read_off, sample_surface

from tests.helpers.layouts import write_princeton

CLASSES = ["airplane", "night_stand", "toilet"]


def _points(path: Path, n: int = 20, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = np.random.default_rng(seed).normal(size=(n, 6))
    np.savetxt(path, rows, fmt="%.6f", delimiter=",")


@pytest.fixture
def dataset(tmp_path) -> Path:
    """The real layout, including the modelnet10_* lists the official archive ships alongside."""
    root = tmp_path / "modelnet40_normal_resampled"
    root.mkdir()
    (root / "modelnet40_shape_names.txt").write_text("\n".join(CLASSES) + "\n")
    (root / "modelnet10_shape_names.txt").write_text("night_stand\ntoilet\n")
    train = [f"{c}_{i:04d}" for c in CLASSES for i in range(1, 9)]
    test = [f"{c}_{i:04d}" for c in CLASSES for i in range(9, 11)]
    (root / "modelnet40_train.txt").write_text("\n".join(train) + "\n")
    (root / "modelnet40_test.txt").write_text("\n".join(test + ["toilet_0099", "chair_0001"]) + "\n")
    (root / "modelnet10_train.txt").write_text("toilet_0001\n")
    (root / "modelnet10_test.txt").write_text("toilet_0009\n")
    for k, sample_id in enumerate(train + test):
        _points(root / class_of(sample_id) / f"{sample_id}.txt", seed=k)
    (root / "airplane" / "airplane_0002.txt").write_text("")  # empty: quarantined
    return root


def test_reads_every_field(dataset):
    result = read(dataset, eval_fraction=0.3)
    assert [(c.index, c.key, c.name) for c in result.classes] == [
        (0, "airplane", "airplane"), (1, "night_stand", "night stand"), (2, "toilet", "toilet")]
    rows = {r["sample_id"]: r for r in result.rows}
    row = rows["night_stand_0009"]
    assert row == {"sample_id": "night_stand_0009", "split": "test", "class_index": 1, "class_key": "night_stand",
                   "class_name": "night stand", "path": "night_stand/night_stand_0009.txt"}
    for sample_id, r in rows.items():
        number = int(sample_id.rsplit("_", 1)[1])
        expected = "test" if number >= 9 else hashed_split(sample_id, 0.3)
        assert r["split"] == expected
    assert {r["split"] for r in rows.values()} == {"train", "eval", "test"}
    assert len(rows) == 3 * 10 - 1
    table = result.manifest()
    assert table.num_rows == 29 and table["box"].null_count == 29


def test_missing_empty_and_unknown_entries_are_quarantined(dataset):
    reasons = {q["path"]: q["reason"] for q in read(dataset).quarantine}
    assert reasons == {"airplane/airplane_0002.txt": "empty file (0 bytes)",
                       "toilet/toilet_0099.txt": "listed but missing on disk",
                       "chair/chair_0001.txt": "class 'chair' is not in the class list"}


def test_variant_choice_and_layout_errors(dataset, tmp_path):
    assert len(read(dataset, variant="modelnet10").classes) == 2
    renamed = dataset.rename(tmp_path / "some_copy")  # no longer named after either list: ambiguous
    with pytest.raises(DatasetLayoutError, match="modelnet10_shape_names.txt, modelnet40_shape_names.txt"):
        read(renamed)
    for name in ("modelnet10_shape_names.txt", "modelnet10_train.txt", "modelnet10_test.txt"):
        (renamed / name).unlink()
    (renamed / "modelnet40_test.txt").unlink()
    with pytest.raises(DatasetLayoutError, match=str(renamed / "modelnet40_test.txt")):
        read(renamed)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetLayoutError, match=r"<prefix>_shape_names.txt, or ply_data_\*.h5\) at \S*empty \(or one folder further down\)"):
        read(empty)
    with pytest.raises(DatasetLayoutError, match="nothing"):
        read(tmp_path / "absent")


def test_demo_round_trip(tmp_path):
    digits = load_demo_digits(max_per_class=3)
    captions = demo_writer.write(tmp_path, digits, np.random.default_rng(0))
    result = read(tmp_path)
    assert sorted(r["path"] for r in result.rows) == sorted(captions)
    assert not result.quarantine
    assert [c.key for c in result.classes] == sorted({digits.name(i) for i in range(len(digits))})


OFF_RUN_TOGETHER = """OFF4 2 0
0 0 0
1 0 0
1 1 0
0 1 0
3 0 1 2
3 0 2 3
"""

OFF_QUAD_WITH_COMMENTS = """OFF
# a unit square as one quad, with a colour after the indices
4 1 0

0 0 0
2 0 0
2 2 0
0 2 0
4 0 1 2 3 255 0 0
"""


def test_off_with_run_together_header(tmp_path):
    path = tmp_path / "bathtub_0001.off"
    path.write_text(OFF_RUN_TOGETHER)
    vertices, faces = read_off(path)
    assert vertices.shape == (4, 3) and vertices.dtype == np.float64
    np.testing.assert_array_equal(faces, [[0, 1, 2], [0, 2, 3]])


def test_off_polygons_are_fan_triangulated(tmp_path):
    path = tmp_path / "quad.off"
    path.write_text(OFF_QUAD_WITH_COMMENTS)
    vertices, faces = read_off(path)
    np.testing.assert_array_equal(faces, [[0, 1, 2], [0, 2, 3]])
    points = sample_surface(vertices, faces, 4000, np.random.default_rng(0))
    assert points.shape == (4000, 3) and np.all(points[:, 2] == 0)
    assert points[:, :2].min() >= 0 and points[:, :2].max() <= 2
    assert abs(points[:, 0].mean() - 1) < 0.05 and abs(points[:, 1].mean() - 1) < 0.05  # uniform by area


@pytest.mark.parametrize("text, match", [
    ("PLY\n", "does not start with 'OFF'"),
    ("OFF\n3 1 0\n0 0 0\n1 0 0\n", "file is shorter"),
    ("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n", "outside 0..2"),
    ("OFF\nthree 1 0\n", "no vertex/face counts"),
])
def test_malformed_off_raises_naming_the_file(tmp_path, text, match):
    path = tmp_path / "broken.off"
    path.write_text(text)
    with pytest.raises(ValueError, match=match) as info:
        read_off(path)
    assert "broken.off" in str(info.value)


def test_princeton_off_meshes_keep_modelnet40_indices(tmp_path):
    from unibind_core.data.modalities.point import load

    top = write_princeton(tmp_path / "ModelNet40")
    result = read(tmp_path, classnames="modelnet40")  # the folder holding ModelNet40/, as the spec reads it
    assert read(top, classnames="modelnet40").rows and len(result.classes) == 40
    rows = {r["sample_id"]: r for r in result.rows}
    assert sorted(rows) == ["bed_0001", "bed_0002", "bed_0003", "xbox_0001"]
    assert rows["bed_0003"] == {"sample_id": "bed_0003", "split": "test", "class_index": 2, "class_key": "bed",
                                "class_name": "bed", "path": "ModelNet40/bed/test/bed_0003.off"}
    assert rows["xbox_0001"]["class_index"] == 39 and rows["bed_0002"]["split"] == hashed_split("bed_0002", 0.1)
    assert len(result.missing_classes()) == 38
    reasons = {q["path"]: q["reason"] for q in result.quarantine}
    assert reasons == {"ModelNet40/xbox/test/xbox_0002.off": "not an OFF mesh (the file does not start with 'OFF')",
                       "ModelNet40/xbox/test/xbox_0003.off": "empty file (0 bytes)"}
    a, b = (load(tmp_path, rows["bed_0002"], num_points=64) for _ in range(2))
    assert a.shape == (64, 3) and bool((a == b).all())  # surface samples, the same every time
    (top / "desk_lamp" / "train").mkdir(parents=True)
    with pytest.raises(DatasetLayoutError, match="not in the list: 'desk_lamp'"):
        read(top, classnames="modelnet40")


H5_CLASSES = ["airplane", "bathtub", "bed", "bench"]  # the head of shape_names.txt (= the modelnet40 order)


def _h5(path: Path, labels: list[int], points: int = 16, seed: int = 0) -> np.ndarray:
    import h5py

    data = np.random.default_rng(seed).normal(size=(len(labels), points, 3)).astype(np.float32)
    with h5py.File(path, "w") as f:
        f["data"] = data
        f["label"] = np.array(labels, np.uint8).reshape(-1, 1)
    return data


def write_hdf5(top: Path) -> dict[str, np.ndarray]:
    """modelnet40_ply_hdf5_2048 as PointNet ships it: list files with repository-relative paths, shape_names,
    and id2file sidecars for the train file only; a copy holding a subset of the shipped files."""
    top.mkdir(parents=True)
    (top / "shape_names.txt").write_text("\n".join(H5_CLASSES + ["bottle"]) + "\n")  # bookshelf skipped
    (top / "train_files.txt").write_text("data/modelnet40_ply_hdf5_2048/ply_data_train0.h5\n"
                                         "data/modelnet40_ply_hdf5_2048/ply_data_train1.h5\n")
    (top / "test_files.txt").write_text("data/modelnet40_ply_hdf5_2048/ply_data_test0.h5\n"
                                        "data/modelnet40_ply_hdf5_2048/ply_data_test1.h5\n")
    data = {"train0": _h5(top / "ply_data_train0.h5", [0, 2, 2, 9], seed=1),  # 9: beyond shape_names
            "test0": _h5(top / "ply_data_test0.h5", [3, 0], seed=2)}
    (top / "ply_data_train_0_id2file.json").write_text(
        '["airplane/airplane_0007.ply", "bed/bed_0100.ply", "bed/bed_0101.ply", "x/x_0001.ply"]')
    (top / "ply_data_test1.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 40)  # cut after the signature
    return data


def test_hdf5_variant_keeps_indices_and_addresses_clouds_inside_files(tmp_path):
    from unibind_core.data.modalities.point import load

    top = tmp_path / "modelnet40_ply_hdf5_2048"
    data = write_hdf5(top)
    with pytest.raises(DatasetLayoutError, match="'bottle' is class 4 on disk, 5 in the list"):
        read(tmp_path, classnames="modelnet40")
    (top / "shape_names.txt").write_text("\n".join(H5_CLASSES) + "\n")
    result = read(tmp_path, classnames="modelnet40", eval_fraction=0.5)  # the folder holding the archive's top
    inner = read(top, classnames="modelnet40", eval_fraction=0.5).rows  # the archive's top folder itself
    assert ["modelnet40_ply_hdf5_2048/" + r["path"] for r in inner] == [r["path"] for r in result.rows]
    rows = {r["sample_id"]: r for r in result.rows}
    assert rows["bed_0101"] == {"sample_id": "bed_0101", "split": hashed_split("bed_0101", 0.5), "class_index": 2,
                                "class_key": "bed", "class_name": "bed",
                                "path": "modelnet40_ply_hdf5_2048/ply_data_train0.h5#2"}
    assert rows["ply_data_test0_0"]["class_index"] == 3 and rows["ply_data_test0_0"]["split"] == "test"
    assert sorted(rows) == ["airplane_0007", "bed_0100", "bed_0101", "ply_data_test0_0", "ply_data_test0_1"]
    assert len(result.classes) == 40 and len(result.missing_classes()) == 37
    reasons = {q["path"]: q["reason"] for q in result.quarantine}
    assert reasons["modelnet40_ply_hdf5_2048/ply_data_train0.h5#3"] == "label 9 is outside the 4 classes of shape_names.txt"
    assert reasons["modelnet40_ply_hdf5_2048/ply_data_train1.h5"] == "listed but missing on disk"
    assert reasons["modelnet40_ply_hdf5_2048/ply_data_test1.h5"].startswith("not a readable HDF5 file")
    assert len(reasons) == 3
    cloud = load(tmp_path, rows["bed_0101"], num_points=16).numpy()
    from unibind_core.data.modalities.point import normalize
    expected = normalize(data["train0"][2].astype(np.float64))
    assert sorted(map(tuple, cloud.round(4))) == sorted(map(tuple, expected.astype(np.float32).round(4)))
    again = load(tmp_path, rows["bed_0101"], num_points=8)
    assert bool((again == load(tmp_path, rows["bed_0101"], num_points=8)).all())
    with pytest.raises(ValueError, match="many clouds"):
        load(tmp_path, {"path": "modelnet40_ply_hdf5_2048/ply_data_train0.h5"})


def test_hdf5_without_list_files_and_bad_arrays(tmp_path):
    import h5py

    top = tmp_path / "modelnet40_ply_hdf5_2048"
    top.mkdir()
    (top / "shape_names.txt").write_text("\n".join(H5_CLASSES) + "\n")
    _h5(top / "ply_data_test0.h5", [1, 1])
    with h5py.File(top / "ply_data_train0.h5", "w") as f:  # labels for 3 clouds, data for 2
        f["data"] = np.zeros((2, 16, 3), np.float32)
        f["label"] = np.zeros((3, 1), np.uint8)
    (top / "ply_data_train1.h5").write_text("not hdf5")
    (top / "ply_data_test_0_id2file.json").write_text('["bathtub/bathtub_0001.ply", "bathtub/bathtub_0001.ply"]')
    result = read(top)  # a sidecar naming one mesh twice does not fit: the file's own ids are used
    assert [(r["sample_id"], r["class_index"], r["split"]) for r in result.rows] == [
        ("ply_data_test0_0", 1, "test"), ("ply_data_test0_1", 1, "test")]
    reasons = {q["path"]: q["reason"] for q in result.quarantine}
    assert reasons == {"ply_data_train0.h5": "'label' is uint8 (3, 1), expected one integer per cloud of 'data' (2, 16, 3)",
                       "ply_data_train1.h5": "not an HDF5 file (no HDF5 signature)"}


def test_decoded_input_key_follows_the_h5_file_of_member_paths(tmp_path):
    """`file.h5#i` rows are keyed by the file's size and mtime, so a replaced .h5 is decoded again."""
    import os

    from unibind_core.data.benchmarks.spec import BENCHMARKS
    from unibind_core.data.decoding import inputs_key

    top = tmp_path / "modelnet40_ply_hdf5_2048"
    top.mkdir()
    (top / "shape_names.txt").write_text("\n".join(H5_CLASSES) + "\n")
    _h5(top / "ply_data_test0.h5", [1, 2])
    spec = BENCHMARKS["modelnet40"]
    manifest = read(tmp_path).manifest()
    before = inputs_key(spec, tmp_path, manifest)
    assert before == inputs_key(spec, tmp_path, manifest)
    _h5(top / "ply_data_test0.h5", [1, 2], seed=5)
    os.utime(top / "ply_data_test0.h5", ns=(1, 1))  # a replaced file: another mtime
    assert inputs_key(spec, tmp_path, manifest) != before
    import unibind_core.data.decoding as features

    calls = []
    real = os.stat
    features.os.stat = lambda path, *a, **k: calls.append(path) or real(path, *a, **k)
    try:
        inputs_key(spec, tmp_path, manifest)
    finally:
        features.os.stat = real
    assert manifest.num_rows == 2 and len(calls) == 1  # one stat per HDF5 file, not per row in it


def test_hdf5_ids_repeated_across_files_stay_unique(tmp_path):
    top = tmp_path / "modelnet40_ply_hdf5_2048"
    top.mkdir()
    (top / "shape_names.txt").write_text("\n".join(H5_CLASSES) + "\n")
    for split in ("train", "test"):
        _h5(top / f"ply_data_{split}0.h5", [2])
        (top / f"ply_data_{split}_0_id2file.json").write_text('["bed/bed_0001.ply"]')
    ids = sorted(r["sample_id"] for r in read(top).rows)
    assert ids == ["bed_0001", "ply_data_test0_0"]  # train is read first and keeps the mesh's name
