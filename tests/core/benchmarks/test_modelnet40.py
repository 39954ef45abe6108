"""ModelNet40 pre-sampled reader and the OFF mesh parser, on fixtures in the real on-disk format."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from unibind_core.benchmarks.manifest import DatasetLayoutError, hashed_split
from unibind_core.benchmarks.readers.modelnet40 import class_of, read
from unibind_core.demo.digits import load_demo_digits
from unibind_core.demo.writers import modelnet40 as demo_writer
from unibind_core.modalities.mesh_format import read_off, sample_surface

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
    with pytest.raises(DatasetLayoutError, match=r"<prefix>_shape_names.txt\) at \S*empty \(or one folder further down\)"):
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
