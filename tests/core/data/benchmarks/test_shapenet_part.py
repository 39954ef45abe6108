"""ShapeNet-part (normal-sampled release) reader and the space-separated point files it ships."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from unibind_core.data.benchmarks.classnames import shipped_classes
from unibind_core.data.benchmarks.manifest import DatasetLayoutError
from unibind_core.data.benchmarks.readers.shapenet_part import RELEASE, read
from unibind_core.data.modalities.point import load, normalize

CATEGORIES = [("Airplane", "02691156"), ("Bag", "02773838"), ("Cap", "02954340"), ("Car", "02958343"),
              ("Chair", "03001627"), ("Earphone", "03261776"), ("Guitar", "03467517"), ("Knife", "03624134"),
              ("Lamp", "03636649"), ("Laptop", "03642806"), ("Motorbike", "03790512"), ("Mug", "03797390"),
              ("Pistol", "03948459"), ("Rocket", "04099429"), ("Skateboard", "04225987"), ("Table", "04379243")]
LISTS = {
    "train": ["shape_data/02691156/1a04e3eab45ca15dd86060f189eb133",
              "shape_data/03001627/1a6f615e8b1b5ae4dbbc9440457e303e",
              "shape_data/03001627/2b90701386f1813052db1dda4adf0a0c", "shape_data/99999999/abc",
              "../../etc/passwd", "shape_data/04379243/ffffffff"],  # unknown synset, not an entry, missing
    "val": ["shape_data/04379243/1a00aa6b75362cc5b324368d54a7416f",
            "shape_data/02691156/1a04e3eab45ca15dd86060f189eb133"],
    "test": ["shape_data/02691156/2c1fff0653854166e7a636089598229", "shape_data/04379243/00000000empty"],
}  # the second val entry repeats a train entry; the last test entry is an empty file


def points(seed: int, n: int = 40) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(size=(n, 6)), rng.integers(1, 5, size=(n, 1))], axis=1)


def write_shapenet_part(parent: Path) -> Path:
    """The release folder inside `parent`, as the official zip extracts."""
    root = parent / RELEASE
    (root / "train_test_split").mkdir(parents=True)
    (root / "synsetoffset2category.txt").write_text("".join(f"{n}\t{s}\n" for n, s in CATEGORIES))
    for name, entries in LISTS.items():
        (root / "train_test_split" / f"shuffled_{name}_file_list.json").write_text(json.dumps(entries))
    on_disk = {e for entries in LISTS.values() for e in entries if e.startswith("shape_data/0")} - {
        "shape_data/04379243/ffffffff"}
    for k, entry in enumerate(sorted(on_disk)):
        _, synset, model = entry.split("/")
        path = root / synset / f"{model}.txt"
        path.parent.mkdir(exist_ok=True)
        np.savetxt(path, points(k), fmt=["%.6f"] * 6 + ["%d"], delimiter=" ")  # x y z nx ny nz part
    (root / "04379243" / "00000000empty.txt").write_text("")
    return parent


@pytest.fixture
def dataset(tmp_path) -> Path:
    return write_shapenet_part(tmp_path / "shapenet")


def test_reads_every_field(dataset):
    result = read(dataset)
    assert [(c.index, c.key, c.name) for c in result.classes] == [
        (i, s, n.lower()) for i, (n, s) in enumerate(CATEGORIES)]
    assert [(c.key, c.name) for c in result.classes] == [(c.key, c.name) for c in shipped_classes("shapenet_part")]
    rows = {r["sample_id"]: r for r in result.rows}
    assert rows["04379243/1a00aa6b75362cc5b324368d54a7416f"] == {
        "sample_id": "04379243/1a00aa6b75362cc5b324368d54a7416f", "split": "eval", "class_index": 15,
        "class_key": "04379243", "class_name": "table",
        "path": f"{RELEASE}/04379243/1a00aa6b75362cc5b324368d54a7416f.txt"}
    assert {s: r["split"] for s, r in rows.items()} == {
        "02691156/1a04e3eab45ca15dd86060f189eb133": "train", "03001627/1a6f615e8b1b5ae4dbbc9440457e303e": "train",
        "03001627/2b90701386f1813052db1dda4adf0a0c": "train", "04379243/1a00aa6b75362cc5b324368d54a7416f": "eval",
        "02691156/2c1fff0653854166e7a636089598229": "test"}
    assert [r["class_index"] for r in result.rows if r["class_key"] == "03001627"] == [4, 4]
    release = read(dataset / RELEASE)  # the release folder itself as the root
    assert release.rows[0]["path"] == "02691156/1a04e3eab45ca15dd86060f189eb133.txt"


def test_bad_entries_and_files_are_quarantined(dataset):
    reasons = {q["path"]: q["reason"] for q in read(dataset).quarantine}
    split_dir = f"{RELEASE}/train_test_split"
    assert reasons == {
        f"{RELEASE}/99999999/abc.txt": "synset 99999999 is not in synsetoffset2category.txt",
        f"{split_dir}/shuffled_train_file_list.json[4]": "not a 'shape_data/<synset>/<id>' entry: '../../etc/passwd'",
        f"{RELEASE}/04379243/ffffffff.txt": "listed but missing on disk",
        f"{RELEASE}/02691156/1a04e3eab45ca15dd86060f189eb133.txt": "listed in more than one split list",
        f"{RELEASE}/04379243/00000000empty.txt": "empty file",
    }


def test_space_separated_point_files_load_as_xyz(dataset):
    row = next(r for r in read(dataset).rows if r["split"] == "test")
    written = np.loadtxt(dataset / row["path"])
    assert written.shape == (40, 7)  # xyz, normal, part label
    cloud = load(dataset, row, num_points=40)
    assert cloud.shape == (40, 3)
    expected = normalize(written[:, :3])
    got = cloud.numpy().astype(np.float64)
    assert {tuple(np.round(p, 4)) for p in got} <= {tuple(np.round(p, 4)) for p in expected}  # drawn from the file
    with pytest.raises(ValueError, match="00000000empty.txt"):
        load(dataset, {"path": f"{RELEASE}/04379243/00000000empty.txt"})


def test_layout_and_class_list_errors(dataset, tmp_path):
    with pytest.raises(DatasetLayoutError, match="found nothing"):
        read(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetLayoutError, match="category list at .*empty/synsetoffset2category.txt"):
        read(tmp_path / "empty")
    (dataset / RELEASE / "train_test_split" / "shuffled_val_file_list.json").unlink()
    with pytest.raises(DatasetLayoutError, match="shuffled_val_file_list.json"):
        read(dataset)
    (dataset / RELEASE / "train_test_split" / "shuffled_val_file_list.json").write_text("{not json")
    with pytest.raises(DatasetLayoutError, match="not valid JSON"):
        read(dataset)
    (dataset / RELEASE / "synsetoffset2category.txt").write_text("Bag\t02773838\nAirplane\t02691156\n")
    with pytest.raises(DatasetLayoutError, match="'02773838' is class 0 on disk, 1 in the list"):
        read(dataset)


def test_subset_copy_under_another_name_keeps_indices_and_checks_point_files(tmp_path):
    """A copy holding three of the 16 category folders (the lists still name all), renamed, pointed at from
    above; a point file that is not numbers is quarantined while the rest is read."""
    root = tmp_path / "datasets" / "shapenet_part_copy"
    (root / "train_test_split").mkdir(parents=True)
    (root / "synsetoffset2category.txt").write_text("".join(f"{n}\t{s}\n" for n, s in CATEGORIES))
    lists = {"train": ["shape_data/03001627/c1", "shape_data/03001627/c2", "shape_data/02958343/car1",
                       "shape_data/04379243/t1"],
             "val": ["shape_data/03642806/lap1"], "test": ["shape_data/04379243/t2", "shape_data/03001627/c3"]}
    for name, entries in lists.items():
        (root / "train_test_split" / f"shuffled_{name}_file_list.json").write_text(json.dumps(entries))
    for k, (synset, model) in enumerate([("03001627", "c1"), ("03001627", "c2"), ("03642806", "lap1"),
                                         ("04379243", "t2")]):
        (root / synset).mkdir(exist_ok=True)
        np.savetxt(root / synset / f"{model}.txt", points(k), fmt=["%.6f"] * 6 + ["%d"], delimiter=" ")
    (root / "03001627" / "c3.txt").write_text("<html>404</html>\n")
    result = read(tmp_path / "datasets")
    rows = {r["sample_id"]: (r["class_index"], r["split"], r["path"]) for r in result.rows}
    assert rows == {"03001627/c1": (4, "train", "shapenet_part_copy/03001627/c1.txt"),
                    "03001627/c2": (4, "train", "shapenet_part_copy/03001627/c2.txt"),
                    "03642806/lap1": (9, "eval", "shapenet_part_copy/03642806/lap1.txt"),
                    "04379243/t2": (15, "test", "shapenet_part_copy/04379243/t2.txt")}
    assert len(result.classes) == 16 and len(result.missing_classes()) == 13
    assert {q["path"]: q["reason"] for q in result.quarantine} == {
        "shapenet_part_copy/04379243/t1.txt": "listed but missing on disk",  # its category folder is here
        "shapenet_part_copy/03001627/c3.txt": "the first row is not numbers: '<html>404</html>'"}
