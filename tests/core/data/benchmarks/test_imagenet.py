"""ImageNet-1K reader on fixtures in the real layouts: flat val labelled by the devkit, and sorted val."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat

from unibind_core.data.benchmarks.classnames import shipped_classes
from unibind_core.data.benchmarks.manifest import DatasetLayoutError, hashed_split
from unibind_core.data.benchmarks.readers.imagenet import read
from unibind_core.data.modalities.image import load

SHIPPED = shipped_classes("imagenet1k")
CHOSEN = (SHIPPED[0], SHIPPED[134], SHIPPED[999])  # tench, crane (bird), toilet paper
META_FIELDS = ("ILSVRC2012_ID", "WNID", "words", "gloss", "num_children", "wordnet_height", "num_train_images")


def ilsvrc_ids() -> dict[str, int]:
    """The devkit numbers classes in its own order, not by sorted wnid: a fixed shuffle stands in for it."""
    order = np.random.default_rng(7).permutation(len(SHIPPED))
    return {SHIPPED[k].key: i + 1 for i, k in enumerate(order)}


def write_meta(path: Path, wnids_by_id: dict[int, str]) -> None:
    """devkit data/meta.mat: a (N, 1) struct array `synsets`, the leaves first, then two inner synsets."""
    rows = [(i, w, "words", "gloss", 0, 0, 1300) for i, w in sorted(wnids_by_id.items())]
    rows += [(1001, "n00001740", "entity", "that which exists", 9, 19, 0),
             (1002, "n00002137", "abstraction", "", 4, 18, 0)]
    synsets = np.empty((len(rows), 1), dtype=[(f, object) for f in META_FIELDS])
    for k, row in enumerate(rows):
        synsets[k, 0] = row
    path.parent.mkdir(parents=True, exist_ok=True)
    savemat(path, {"synsets": synsets})


def ids_missing(wnids_by_id: dict[int, str]) -> str:
    return (set(ilsvrc_ids()) - set(wnids_by_id.values())).pop()


def jpeg(path: Path, shade: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (24, 16), (shade, 100, 50)).save(path, format="JPEG")


def write_imagenet(root: Path, sorted_val: bool = False) -> Path:
    """train/<wnid>/ with two images per chosen class, plus val/ flat with the devkit, or sorted by wnid."""
    ids = ilsvrc_ids()
    for c in CHOSEN:
        for k in (1, 2):
            jpeg(root / "train" / c.key / f"{c.key}_{k}.JPEG", 40 * k)
    (root / "train" / CHOSEN[0].key / f"{CHOSEN[0].key}_3.JPEG").write_bytes(b"")  # zero bytes
    (root / "train" / CHOSEN[0].key / "notes.txt").write_text("not an image")
    (root / "train" / "README").write_text("stray")
    if sorted_val:
        for k, c in enumerate(CHOSEN, 1):
            jpeg(root / "val" / c.key / f"ILSVRC2012_val_{k:08d}.JPEG", 10 * k)
        return root
    write_meta(root / "ILSVRC2012_devkit_t12" / "data" / "meta.mat", {i: w for w, i in ids.items()})
    truth = [ids[CHOSEN[0].key], ids[CHOSEN[1].key], ids[CHOSEN[2].key], ids[CHOSEN[1].key],
             "x7", 1001, ids[CHOSEN[2].key]]  # 5: not a number, 6: an inner synset, 7: image missing
    (root / "ILSVRC2012_devkit_t12" / "data" / "ILSVRC2012_validation_ground_truth.txt").write_text(
        "".join(f"{t}\n" for t in truth))
    for n in (1, 2, 3, 4, 5, 6, 8):  # 8 has no ground-truth line
        jpeg(root / "val" / f"ILSVRC2012_val_{n:08d}.JPEG", 20 * n)
    return root


@pytest.fixture
def dataset(tmp_path) -> Path:
    return write_imagenet(tmp_path / "imagenet")


def test_reads_every_field_with_devkit_labels(dataset):
    result = read(dataset, eval_fraction=0.5)
    assert [(c.index, c.key, c.name) for c in result.classes] == [(c.index, c.key, c.name) for c in SHIPPED]
    assert result.classes[134].name == "crane bird" and result.classes[134].key == "n02012849"
    rows = {r["sample_id"]: r for r in result.rows}
    crane = CHOSEN[1].key
    assert rows[f"{crane}_2"] == {"sample_id": f"{crane}_2", "split": hashed_split(f"{crane}_2", 0.5),
                                  "class_index": 134, "class_key": crane, "class_name": "crane bird",
                                  "path": f"train/{crane}/{crane}_2.JPEG"}
    assert ilsvrc_ids()[crane] != 135  # the devkit ID is not the class index
    assert rows["ILSVRC2012_val_00000004"] == {"sample_id": "ILSVRC2012_val_00000004", "split": "test",
                                               "class_index": 134, "class_key": crane, "class_name": "crane bird",
                                               "path": "val/ILSVRC2012_val_00000004.JPEG"}
    val = {s: r["class_index"] for s, r in rows.items() if s.startswith("ILSVRC")}
    assert val == {"ILSVRC2012_val_00000001": 0, "ILSVRC2012_val_00000002": 134, "ILSVRC2012_val_00000003": 999,
                   "ILSVRC2012_val_00000004": 134}
    assert len(rows) == 6 + 4
    assert all(r["split"] == ("test" if s.startswith("ILSVRC") else hashed_split(s, 0.5)) for s, r in rows.items())
    image = load(dataset, rows[f"{crane}_2"], size=16)
    assert image.shape == (3, 16, 16) and 0.0 <= float(image.min()) <= float(image.max()) <= 1.0


def test_bad_files_and_lines_are_quarantined(dataset):
    reasons = {q["path"]: q["reason"] for q in read(dataset).quarantine}
    tench = CHOSEN[0].key
    assert set(reasons) == {f"train/{tench}/{tench}_3.JPEG", f"train/{tench}/notes.txt",
                            "train/README", "ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt:5",
                            "val/ILSVRC2012_val_00000005.JPEG", "val/ILSVRC2012_val_00000006.JPEG",
                            "val/ILSVRC2012_val_00000007", "val/ILSVRC2012_val_00000008.JPEG"}
    assert "0 bytes" in reasons[f"train/{tench}/{tench}_3.JPEG"]
    assert "'x7'" in reasons["ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt:5"]
    assert reasons["val/ILSVRC2012_val_00000005.JPEG"] == "no line in the devkit ground truth"
    assert "1001 is not a leaf synset" in reasons["val/ILSVRC2012_val_00000006.JPEG"]
    assert reasons["val/ILSVRC2012_val_00000007"] == "listed in the ground truth but missing"


def test_val_sorted_into_wnid_folders_needs_no_devkit(tmp_path):
    result = read(write_imagenet(tmp_path / "sorted", sorted_val=True))
    val = sorted((r["sample_id"], r["class_index"], r["path"]) for r in result.rows if r["split"] == "test")
    assert val == [("ILSVRC2012_val_00000001", 0, f"val/{CHOSEN[0].key}/ILSVRC2012_val_00000001.JPEG"),
                   ("ILSVRC2012_val_00000002", 134, f"val/{CHOSEN[1].key}/ILSVRC2012_val_00000002.JPEG"),
                   ("ILSVRC2012_val_00000003", 999, f"val/{CHOSEN[2].key}/ILSVRC2012_val_00000003.JPEG")]
    assert len(result.classes) == 1000


def test_without_a_shipped_list_the_train_folders_are_the_classes(tmp_path):
    result = read(write_imagenet(tmp_path / "sorted", sorted_val=True), classnames=None)
    assert [c.key for c in result.classes] == sorted([c.key for c in CHOSEN])


def test_a_folder_that_is_no_class_is_an_error_naming_it(dataset):
    jpeg(dataset / "train" / "n99999999" / "n99999999_1.JPEG", 9)  # not an ILSVRC-2012 wnid
    with pytest.raises(DatasetLayoutError, match="wnid folders of .*not in the list: 'n99999999'"):
        read(dataset)


def test_layout_errors_name_what_is_missing(tmp_path, dataset):
    (tmp_path / "bare").mkdir()
    with pytest.raises(DatasetLayoutError) as info:
        read(tmp_path / "bare")
    assert str(tmp_path / "bare" / "train") in str(info.value) and str(tmp_path / "bare" / "val") in str(info.value)
    assert len(read(tmp_path).rows) == len(read(dataset).rows)  # the folder above the dataset works too
    (dataset / "ILSVRC2012_devkit_t12" / "data" / "ILSVRC2012_validation_ground_truth.txt").unlink()
    with pytest.raises(DatasetLayoutError, match=re.escape("ILSVRC2012_validation_ground_truth.txt")):
        read(dataset)


def test_devkit_with_other_classes_or_corrupt_meta_is_refused(tmp_path):
    root = write_imagenet(tmp_path / "other")
    meta = root / "ILSVRC2012_devkit_t12" / "data" / "meta.mat"
    ids = {i: w for w, i in ilsvrc_ids().items()}
    ids[1] = "n00000001"  # one leaf wnid that is not an ILSVRC-2012 class
    write_meta(meta, ids)
    with pytest.raises(DatasetLayoutError) as info:
        read(root)
    message = str(info.value)
    assert "meta.mat does not match the shipped 'imagenet1k' class list (1 difference(s))" in message
    assert "not in the list: 'n00000001'" in message
    meta.write_bytes(b"MATLAB 5.0 MAT-file, truncated")
    with pytest.raises(DatasetLayoutError, match="not a readable ILSVRC-2012 devkit meta.mat"):
        read(root)


def write_kaggle(top: Path) -> Path:
    """Kaggle's imagenet-object-localization-challenge as it unpacks: LOC_* files beside ILSVRC/, train/<wnid>/
    for a subset of classes and a flat val/ labelled by LOC_val_solution.csv (wnid first, then boxes)."""
    (top / "ILSVRC" / "Data" / "CLS-LOC" / "test").mkdir(parents=True)
    (top / "LOC_synset_mapping.txt").write_text("".join(f"{c.key} {c.name}, other words\n" for c in SHIPPED))
    images = top / "ILSVRC" / "Data" / "CLS-LOC"
    for c in CHOSEN[1:]:
        jpeg(images / "train" / c.key / f"{c.key}_7.JPEG", 60)
    solution = ["ImageId,PredictionString",
                f"ILSVRC2012_val_00000001,{CHOSEN[1].key} 10 20 30 40 {CHOSEN[1].key} 1 2 3 4",
                f"ILSVRC2012_val_00000002,{CHOSEN[2].key} 10 20 30 40",
                f"ILSVRC2012_val_00000003,{CHOSEN[0].key} 1 1 5 5",  # tench: no train folder, no image: skipped
                f"ILSVRC2012_val_00000004,{CHOSEN[2].key} 1 1 5 5",  # toilet paper is held: missing is reported
                "ILSVRC2012_val_00000005,n99999999 1 1 5 5",
                "ILSVRC2012_val_00000006,"]
    (top / "LOC_val_solution.csv").write_text("\n".join(solution) + "\n")
    for n in (1, 2, 5, 7):  # 7 has no row
        jpeg(images / "val" / f"ILSVRC2012_val_{n:08d}.JPEG", 20 * n)
    (images / "val" / "ILSVRC2012_val_00000002.JPEG").write_bytes(b"\xff\xd8\xff\xe0 cut")
    return top


def test_kaggle_layout_keeps_sorted_wnid_indices_on_a_subset(tmp_path):
    top = write_kaggle(tmp_path / "imagenet-object-localization-challenge")
    result = read(tmp_path)  # the folder above the archive's top; the top itself reads the same
    assert [r["path"] for r in read(top).rows] == [r["path"][len(top.name) + 1:] for r in result.rows]
    assert len(result.classes) == 1000 and result.classes[134].key == CHOSEN[1].key
    rows = {r["sample_id"]: r for r in result.rows}
    assert sorted(rows) == ["ILSVRC2012_val_00000001", f"{CHOSEN[1].key}_7", f"{CHOSEN[2].key}_7"]
    assert rows["ILSVRC2012_val_00000001"] == {
        "sample_id": "ILSVRC2012_val_00000001", "split": "test", "class_index": 134, "class_key": CHOSEN[1].key,
        "class_name": CHOSEN[1].name,
        "path": "imagenet-object-localization-challenge/ILSVRC/Data/CLS-LOC/val/ILSVRC2012_val_00000001.JPEG"}
    assert rows[f"{CHOSEN[2].key}_7"]["class_index"] == 999
    assert rows[f"{CHOSEN[2].key}_7"]["split"] == hashed_split(f"{CHOSEN[2].key}_7", 0.01)
    val = "imagenet-object-localization-challenge/ILSVRC/Data/CLS-LOC/val/"
    reasons = {q["path"]: q["reason"] for q in result.quarantine}
    assert reasons[val + "ILSVRC2012_val_00000002.JPEG"].startswith("not a readable image header")
    assert reasons[val + "ILSVRC2012_val_00000004"] == "listed in the ground truth but missing"
    assert reasons[val + "ILSVRC2012_val_00000005.JPEG"] == "label 'n99999999' is not a class of the list"
    assert reasons["imagenet-object-localization-challenge/LOC_val_solution.csv:7"] == (
        "no ImageId or no wnid in PredictionString")
    assert reasons[val + "ILSVRC2012_val_00000007.JPEG"] == "no row in LOC_val_solution.csv"
    assert len(reasons) == 5
    assert load(tmp_path, rows["ILSVRC2012_val_00000001"], size=8).shape == (3, 8, 8)


def test_kaggle_synset_mapping_that_contradicts_the_list_is_refused(tmp_path):
    top = write_kaggle(tmp_path / "kaggle")
    lines = (top / "LOC_synset_mapping.txt").read_text().splitlines()
    lines[0], lines[1] = lines[1], lines[0]  # re-ordered: every later index would be off
    (top / "LOC_synset_mapping.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetLayoutError, match=f"'{SHIPPED[1].key}' is class 0 on disk, 1 in the list"):
        read(top)
    (top / "LOC_synset_mapping.txt").unlink()
    with pytest.raises(DatasetLayoutError, match="LOC_synset_mapping.txt"):
        read(top)
