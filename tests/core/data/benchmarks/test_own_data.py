"""Your own data: the `folder` reader (a folder per class, split folders optional) and the `manifest`
reader (CSV or JSON lines), as `read_root` and the pipeline use them."""
from __future__ import annotations

import json

import pytest

from unibind_core.data.benchmarks.manifest import DatasetLayoutError
from unibind_core.data.benchmarks.readers import READERS


def _write(path, data=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_folder_per_class_with_hashed_splits_and_quarantine(tmp_path):
    for cls in ("cat", "dog", "red_fox"):
        for i in range(20):
            _write(tmp_path / cls / f"{i}.wav")
    _write(tmp_path / "cat" / "empty.wav", b"")
    _write(tmp_path / "dog" / "notes.txt")
    _write(tmp_path / "stray.wav")
    result = READERS["folder"](tmp_path, suffixes=[".wav"])
    assert [(c.index, c.key, c.name) for c in result.classes] == [(0, "cat", "cat"), (1, "dog", "dog"),
                                                                  (2, "red_fox", "red fox")]
    assert len(result.rows) == 60 and {r["split"] for r in result.rows} == {"train", "eval", "test"}
    assert {q["path"]: q["reason"] for q in result.quarantine} == {
        "stray.wav": "stray file outside a class folder", "cat/empty.wav": "empty file (0 bytes)",
        "dog/notes.txt": "not one of the file types .wav"}
    again = READERS["folder"](tmp_path, suffixes=[".wav"])
    assert [r["split"] for r in again.rows] == [r["split"] for r in result.rows]  # seeded by the sample id
    table = result.manifest()
    assert table.num_rows == 60 and set(table["class_name"].to_pylist()) == {"cat", "dog", "red fox"}


def test_split_folders_give_the_split_and_unique_ids(tmp_path):
    _write(tmp_path / "train" / "a" / "1.png")
    _write(tmp_path / "val" / "a" / "1.png")
    _write(tmp_path / "test" / "b" / "1.png")
    result = READERS["folder"](tmp_path)
    assert {(r["sample_id"], r["split"], r["class_key"]) for r in result.rows} == {
        ("train/a/1", "train", "a"), ("val/a/1", "eval", "a"), ("test/b/1", "test", "b")}
    assert [c.key for c in result.classes] == ["a", "b"]


def test_folder_without_classes_is_a_layout_error(tmp_path):
    _write(tmp_path / "loose.png")
    with pytest.raises(DatasetLayoutError, match="expected class sub-folders"):
        READERS["folder"](tmp_path)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_manifest_reader_reads_labels_splits_captions_and_quarantines(tmp_path, fmt):
    _write(tmp_path / "x" / "1.jpg")
    _write(tmp_path / "x" / "2.jpg")
    _write(tmp_path / "3.jpg")
    rows = [{"path": "x/1.jpg", "label": "owl", "split": "test", "caption": "an owl at night"},
            {"path": "x/2.jpg", "label": "bat", "split": "", "caption": ""},
            {"path": "3.jpg", "label": "owl", "split": "later", "caption": ""},
            {"path": "gone.jpg", "label": "bat", "split": "train", "caption": ""},
            {"path": "x/1.jpg", "label": "owl", "split": "train", "caption": ""}]
    if fmt == "csv":
        lines = ["path,label,split,caption"] + [f"{r['path']},{r['label']},{r['split']},{r['caption']}" for r in rows]
        (tmp_path / "manifest.csv").write_text("\n".join(lines) + "\n")
    else:
        (tmp_path / "manifest.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = READERS["manifest"](tmp_path)
    assert [(c.index, c.key) for c in result.classes] == [(0, "bat"), (1, "owl")]
    got = {r["path"]: (r["split"], r["class_index"], r["caption"]) for r in result.rows}
    assert got["x/1.jpg"] == ("test", 1, "an owl at night")
    assert got["x/2.jpg"][1:] == (0, None) and got["x/2.jpg"][0] in {"train", "eval", "test"}
    reasons = [q["reason"] for q in result.quarantine]
    assert len(reasons) == 3 and any("unknown split 'later'" in r for r in reasons)
    assert any("missing on disk" in r for r in reasons) and any("more than once" in r for r in reasons)


def test_manifest_without_its_columns_or_file_is_named(tmp_path):
    with pytest.raises(DatasetLayoutError, match="no manifest in"):
        READERS["manifest"](tmp_path)
    (tmp_path / "manifest.csv").write_text("file,class\na.jpg,x\n")
    with pytest.raises(DatasetLayoutError, match="lacks the column"):
        READERS["manifest"](tmp_path)
