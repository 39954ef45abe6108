"""UCF-101 reader on a fixture in the real layout (CRLF lists, the HandStandPushups file-name quirk)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from unibind_core.data.benchmarks.manifest import DatasetLayoutError, hashed_split
from unibind_core.data.benchmarks.readers.ucf101 import display_name, read
from unibind_core.demo.digits import load_demo_digits
from unibind_core.demo.writers import ucf101 as demo_writer

CLASS_IND = "1 ApplyEyeMakeup\r\n2 HandstandPushups\r\n3 YoYo\r\n"
CLIPS = {  # class folder -> (file-name class, groups)
    "ApplyEyeMakeup": ("ApplyEyeMakeup", range(1, 12)),
    "HandstandPushups": ("HandStandPushups", range(1, 12)),  # the real archive spells the files this way
    "YoYo": ("YoYo", range(1, 12)),
}


def _entries() -> list[tuple[str, int, str]]:
    return [(folder, g, f"{folder}/v_{stem}_g{g:02d}_c{c:02d}.avi")
            for folder, (stem, groups) in CLIPS.items() for g in groups for c in (1, 2)]


@pytest.fixture
def dataset(tmp_path, avi_clip) -> Path:
    root = tmp_path / "ucf101"
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_bytes(CLASS_IND.encode())
    ids = {"ApplyEyeMakeup": 1, "HandstandPushups": 2, "YoYo": 3}
    train = "".join(f"{e} {ids[f]}\r\n" for f, g, e in _entries() if g > 7)
    test = "".join(f"{e}\r\n" for f, g, e in _entries() if g <= 7)
    (lists / "trainlist01.txt").write_bytes((train + "Surfing/v_Surfing_g08_c01.avi 99\r\n").encode())
    (lists / "testlist01.txt").write_bytes((test + "YoYo/v_YoYo_g01_c09.avi\r\n").encode())
    for _, _, entry in _entries():
        path = root / "UCF-101" / entry
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(avi_clip)  # a real 4-frame AVI: the reader opens every container
    (root / "UCF-101" / "YoYo" / "v_YoYo_g09_c02.avi").write_bytes(b"")
    return root


def test_display_names():
    assert display_name("ApplyEyeMakeup") == "apply eye makeup"
    assert display_name("YoYo") == "yo yo"
    assert display_name("HandstandPushups") == "handstand pushups"
    assert display_name("Seven") == "seven"


def test_reads_every_field(dataset):
    result = read(dataset, eval_fraction=0.3)
    assert [(c.index, c.key, c.name) for c in result.classes] == [
        (0, "ApplyEyeMakeup", "apply eye makeup"), (1, "HandstandPushups", "handstand pushups"), (2, "YoYo", "yo yo")]
    rows = {r["sample_id"]: r for r in result.rows}
    assert rows["v_HandStandPushups_g03_c02"] == {
        "sample_id": "v_HandStandPushups_g03_c02", "split": "test", "class_index": 1, "class_key": "HandstandPushups",
        "class_name": "handstand pushups", "path": "UCF-101/HandstandPushups/v_HandStandPushups_g03_c02.avi"}
    assert len(rows) == len(_entries()) - 1
    for sample_id, row in rows.items():
        group = int(sample_id.split("_g")[1][:2])
        if group <= 7:
            assert row["split"] == "test"
        else:  # eval is carved per group, so both clips of a group land on the same side
            assert row["split"] == hashed_split(f"{row['class_key']}_g{group:02d}", 0.3)
    assert {r["split"] for r in rows.values()} == {"train", "eval", "test"}


def test_missing_empty_and_unknown_entries_are_quarantined(dataset):
    reasons = {q["path"]: q["reason"] for q in read(dataset).quarantine}
    assert reasons == {"UCF-101/Surfing/v_Surfing_g08_c01.avi": "class folder 'Surfing' is not in classInd.txt",
                       "UCF-101/YoYo/v_YoYo_g01_c09.avi": "listed but missing on disk",
                       "UCF-101/YoYo/v_YoYo_g09_c02.avi": "empty file (0 bytes)"}


def test_split_option_and_every_missing_piece_named(dataset, tmp_path):
    with pytest.raises(DatasetLayoutError) as info:
        read(dataset, split=2)
    assert str(dataset / "ucfTrainTestlist" / "trainlist02.txt") in str(info.value)
    assert str(dataset / "ucfTrainTestlist" / "testlist02.txt") in str(info.value)
    bare = tmp_path / "bare"
    bare.mkdir()
    with pytest.raises(DatasetLayoutError) as info:
        read(bare)
    for piece in ("UCF-101", "classInd.txt", "trainlist01.txt", "testlist01.txt"):
        assert piece in str(info.value)
    with pytest.raises(ValueError, match="splits 1, 2 and 3"):
        read(dataset, split=4)


def test_demo_round_trip(tmp_path):
    digits = load_demo_digits(max_per_class=3)
    captions = demo_writer.write(tmp_path, digits, np.random.default_rng(0))
    result = read(tmp_path)
    assert sorted(r["path"] for r in result.rows) == sorted(captions) and not result.quarantine
    assert [c.name for c in result.classes] == sorted({digits.name(i) for i in range(len(digits))})


def test_subset_keeps_classind_indices_reorder_and_broken_clips(dataset):
    import shutil

    shutil.rmtree(dataset / "UCF-101" / "ApplyEyeMakeup")  # a copy without this class
    (dataset / "UCF-101" / "YoYo" / "v_YoYo_g10_c01.avi").write_bytes(b"RIFF\x10\x00\x00\x00AVI junk")
    result = read(dataset)
    assert {r["class_index"] for r in result.rows} == {1, 2}
    assert [c.key for c in result.missing_classes()] == ["ApplyEyeMakeup"]
    reasons = {q["path"]: q["reason"] for q in result.quarantine}
    assert not any("ApplyEyeMakeup" in p for p in reasons)  # an absent class is reported once, not per clip
    assert reasons["UCF-101/YoYo/v_YoYo_g10_c01.avi"].startswith("the video container does not open")
    mine = dataset / "three.tsv"  # a class-list file in place of the shipped list
    mine.write_text("ApplyEyeMakeup\nHandstandPushups\nYoYo\n")
    assert len(read(dataset, classnames=str(mine)).classes) == 3
    (dataset / "ucfTrainTestlist" / "classInd.txt").write_text("1 HandstandPushups\n2 ApplyEyeMakeup\n3 YoYo\n")
    with pytest.raises(DatasetLayoutError, match="'HandstandPushups' is class 0 on disk, 1 in the list"):
        read(dataset, classnames=str(mine))
