"""ESC-50 reader on a fixture in the real layout (meta/esc50.csv + audio/), and the demo copy read back."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from unibind_core.data.benchmarks.manifest import DatasetLayoutError
from unibind_core.data.benchmarks.readers.esc50 import read
from unibind_core.demo.digits import load_demo_digits
from unibind_core.demo.writers import esc50 as demo_writer
from unibind_core.data.modalities.audio import load

HEADER = "filename,fold,target,category,esc10,src_file,take\n"
ROWS = [
    "1-100032-A-0.wav,1,0,dog,True,100032,A",
    "4-110389-A-12.wav,4,12,crackling_fire,True,110389,A",
    "5-103415-A-12.wav,5,12,crackling_fire,True,103415,A",
    "2-118206-A-19.wav,2,19,thunderstorm,False,118206,A",
    "3-155127-A-0.wav,3,0,dog,True,155127,A",  # listed but absent
    "3-200000-A-19.wav,3,19,thunderstorm,False,200000,A",  # zero bytes
    "3-1-A-x.wav,three,19,thunderstorm,False,1,A",  # fold is not a number
    "../evil.wav,1,0,dog,True,1,A",  # escapes audio/
    "2-118206-A-19.wav,2,19,thunderstorm,False,118206,A",  # duplicate
]


def write_dataset(root: Path, rows: list[str], header: str = HEADER) -> Path:
    (root / "meta").mkdir(parents=True)
    (root / "audio").mkdir()
    (root / "meta" / "esc50.csv").write_text(header + "\n".join(rows) + "\n")
    for line in rows:
        name = line.split(",")[0]
        if name.startswith(("1-", "2-", "4-", "5-")):
            wavfile.write(root / "audio" / name, 44100, (np.sin(np.arange(4410) / 5) * 8000).astype(np.int16))
    (root / "audio" / "3-200000-A-19.wav").write_bytes(b"")
    return root


@pytest.fixture
def dataset(tmp_path) -> Path:
    return write_dataset(tmp_path / "ESC-50-master", ROWS)


def test_reads_every_field(dataset):
    result = read(dataset)
    assert [(c.index, c.key, c.name) for c in result.classes] == [
        (0, "dog", "dog"), (12, "crackling_fire", "crackling fire"), (19, "thunderstorm", "thunderstorm")]
    rows = {r["sample_id"]: r for r in result.rows}
    assert sorted(rows) == ["1-100032-A-0", "2-118206-A-19", "4-110389-A-12", "5-103415-A-12"]
    assert rows["4-110389-A-12"] == {"sample_id": "4-110389-A-12", "split": "eval", "class_index": 12,
                                     "class_key": "crackling_fire", "class_name": "crackling fire",
                                     "path": "audio/4-110389-A-12.wav"}
    assert [rows[s]["split"] for s in sorted(rows)] == ["train", "train", "eval", "test"]
    assert read(dataset, test_folds=(1, 2), eval_folds=(5,)).rows[0]["split"] == "test"


def test_bad_rows_and_files_are_quarantined_with_reasons(dataset):
    quarantine = [(q["path"], q["reason"]) for q in read(dataset).quarantine]
    by_path = dict(quarantine)
    assert len(quarantine) == 5
    assert "missing" in by_path["audio/3-155127-A-0.wav"]
    assert "0 bytes" in by_path["audio/3-200000-A-19.wav"]
    assert "not an integer" in by_path["meta/esc50.csv:8"]
    assert "bad filename" in by_path["meta/esc50.csv:9"]
    assert "more than once" in by_path["audio/2-118206-A-19.wav"]


def test_inconsistent_classes_are_a_layout_error(tmp_path):
    root = write_dataset(tmp_path / "a", ROWS[:2] + ["5-1-A-0.wav,5,0,cat,False,1,A"])
    with pytest.raises(DatasetLayoutError, match=r"target 0 -> \['cat', 'dog'\]"):
        read(root)
    root = write_dataset(tmp_path / "b", ROWS[:2] + ["5-1-A-3.wav,5,3,dog,False,1,A"])
    with pytest.raises(DatasetLayoutError, match="category 'dog'"):
        read(root)


def test_missing_layout_names_the_expected_path(tmp_path):
    with pytest.raises(DatasetLayoutError, match=re.escape(str(tmp_path / "none" / "meta" / "esc50.csv"))):
        read(tmp_path / "none")
    root = write_dataset(tmp_path / "cols", ["1-1-A-0.wav,1,0"], header="filename,fold,target\n")
    with pytest.raises(DatasetLayoutError, match="category"):
        read(root)
    (tmp_path / "noaudio" / "meta").mkdir(parents=True)
    (tmp_path / "noaudio" / "meta" / "esc50.csv").write_text(HEADER)
    with pytest.raises(DatasetLayoutError, match=re.escape(str(tmp_path / "noaudio" / "audio"))):
        read(tmp_path / "noaudio")


def test_demo_copy_reads_back_by_fold(tmp_path):
    digits = load_demo_digits(max_per_class=3)
    captions = demo_writer.write(tmp_path, digits, np.random.default_rng(0))
    result = read(tmp_path)
    assert not result.quarantine and {r["path"] for r in result.rows} == set(captions)
    assert [c.index for c in result.classes] == list(range(10))
    for row in result.rows:
        fold = int(row["sample_id"].split("-")[0])
        assert row["split"] == {5: "test", 4: "eval"}.get(fold, "train")
        assert row["class_index"] == int(row["sample_id"].split("-")[-1])
        clip = load(tmp_path, row, sample_rate=8000, num_samples=4000)
        assert clip.shape == (4000,) and 0.05 < float(clip.abs().max()) <= 1.0


def test_loader_refuses_a_path_escaping_the_root(dataset):
    with pytest.raises(ValueError, match="escapes the dataset root"):
        load(dataset, {"path": "audio/../../x.wav"})


def test_wav_cut_inside_its_header_is_quarantined_and_the_rest_kept(tmp_path):
    from tests.helpers.layouts import write_esc50

    root = write_esc50(tmp_path / "ESC-50-master", classes=(0, 41))
    names = sorted(p.name for p in (root / "audio").iterdir())
    whole = (root / "audio" / names[0]).read_bytes()
    (root / "audio" / names[0]).write_bytes(whole[:30])  # inside the fmt chunk
    (root / "audio" / names[1]).write_bytes(whole[:40])  # past fmt, inside the data chunk header
    (root / "audio" / names[2]).write_bytes(whole[:-100])  # data chunk shorter than declared
    result = read(tmp_path, classnames="esc50")
    reasons = {q["path"]: q["reason"] for q in result.quarantine}
    assert reasons == {f"ESC-50-master/audio/{names[0]}": "no complete 'fmt ' chunk before the audio data",
                       f"ESC-50-master/audio/{names[1]}": "no 'data' chunk (truncated header)",
                       f"ESC-50-master/audio/{names[2]}": "truncated: the data chunk declares 1600 bytes, the file holds 1500"}
    assert [r["path"] for r in result.rows] == [f"ESC-50-master/audio/{names[3]}"]
    assert result.rows[0]["class_index"] == 41 and len(result.classes) == 50
