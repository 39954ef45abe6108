"""MSR-VTT reader on a fixture in the 2016 release layout: videodatainfo json files and mp4 folders."""
from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from unibind_core.data.benchmarks.classnames import shipped_classes
from unibind_core.data.benchmarks.manifest import DatasetLayoutError
from unibind_core.data.benchmarks.readers.msrvtt import read
from unibind_core.data.modalities.video import load

TRAIN_VAL = [
    {"category": 9, "url": "https://www.youtube.com/watch?v=9lZi22qLlEo", "video_id": "video0", "start time": 137.72,
     "end time": 149.44, "split": "train", "id": 0},
    {"category": 3, "video_id": "video1", "split": "train", "id": 1},
    {"category": 0, "video_id": "video6513", "split": "validate", "id": 6513},
    {"category": 25, "video_id": "video2", "split": "train", "id": 2},  # no such category
    {"category": 4, "video_id": "video3", "split": "dev", "id": 3},  # no such split
    {"category": 4, "video_id": "../video4", "split": "train", "id": 4},  # not a video id
    {"category": 4, "video_id": "video5", "split": "train", "id": 5},  # no clip on disk
    {"category": 9, "video_id": "video0", "split": "train", "id": 0},  # listed twice
    {"category": 16, "video_id": "video6", "split": "train", "id": 6},  # its clip sits in TestVideo/
]
TEST = [
    {"category": 19, "video_id": "video7010", "split": "test", "id": 7010},
    {"category": True, "video_id": "video7011", "split": "test", "id": 7011},  # a bool is no category
    {"category": 2, "video_id": "video7012", "split": "test", "id": 7012},  # empty clip
]


def write_clip(path: Path, frames: int = 6, size: int = 32) -> None:
    """A tiny MPEG-4 clip whose frames brighten over time."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for k in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((size, size, 3), 30 * k, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def write_msrvtt(root: Path) -> Path:
    for folder in ("TrainValVideo", "TestVideo"):
        (root / folder).mkdir(parents=True)
    sentences = [{"caption": "a car is shown", "video_id": "video0", "sen_id": 0}]
    (root / "train_val_videodatainfo.json").write_text(json.dumps({"info": {}, "videos": TRAIN_VAL,
                                                                   "sentences": sentences}))
    (root / "test_videodatainfo.json").write_text(json.dumps({"info": {}, "videos": TEST, "sentences": []}))
    for name in ("video0", "video1", "video6513", "video2", "video3"):
        write_clip(root / "TrainValVideo" / f"{name}.mp4")
    for name in ("video6", "video7010", "video7011"):
        write_clip(root / "TestVideo" / f"{name}.mp4")
    (root / "TestVideo" / "video7012.mp4").write_bytes(b"")
    return root


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return write_msrvtt(tmp_path_factory.mktemp("msrvtt") / "MSRVTT")


def test_reads_every_field_with_the_official_split(dataset):
    result = read(dataset)
    assert [(c.index, c.key, c.name) for c in result.classes] == [
        (c.index, c.key, c.name) for c in shipped_classes("msrvtt")]
    assert [c.key for c in result.classes][:4] == ["music", "people", "gaming", "sports/actions"]
    rows = {r["sample_id"]: r for r in result.rows}
    assert rows["video0"] == {"sample_id": "video0", "split": "train", "class_index": 9, "class_key": "vehicles/autos",
                              "class_name": "vehicles/autos", "path": "TrainValVideo/video0.mp4",
                              "caption": "a car is shown"}  # the clip's first sentence
    assert rows["video1"]["caption"] is None  # no sentence: null, not the demo captions file
    assert {s: (r["split"], r["class_index"], r["path"]) for s, r in rows.items()} == {
        "video0": ("train", 9, "TrainValVideo/video0.mp4"), "video1": ("train", 3, "TrainValVideo/video1.mp4"),
        "video6513": ("eval", 0, "TrainValVideo/video6513.mp4"), "video6": ("train", 16, "TestVideo/video6.mp4"),
        "video7010": ("test", 19, "TestVideo/video7010.mp4")}
    clip = load(dataset, rows["video0"], frames=3, size=16)
    assert clip.shape == (3, 3, 16, 16)
    assert float(clip[0].mean()) < float(clip[-1].mean())  # first and last frames, in order


def test_bad_entries_and_clips_are_quarantined(dataset):
    reasons = {q["path"]: q["reason"] for q in read(dataset).quarantine}
    assert reasons == {
        "train_val_videodatainfo.json:videos[3]": "category 25 is not an integer in 0..19",
        "train_val_videodatainfo.json:videos[4]": "split 'dev' is not one of train, validate, test",
        "train_val_videodatainfo.json:videos[5]": "video_id '../video4' is not 'video<N>'",
        "TrainValVideo/video5.mp4": "listed but missing on disk",
        "TrainValVideo/video0.mp4": "listed more than once",
        "test_videodatainfo.json:videos[1]": "category True is not an integer in 0..19",
        "TestVideo/video7012.mp4": "empty file (0 bytes)",
    }


def test_layout_errors_name_every_missing_piece(tmp_path, dataset):
    with pytest.raises(DatasetLayoutError) as info:
        read(tmp_path)
    for piece in ("train_val_videodatainfo.json", "test_videodatainfo.json", "TrainValVideo", "TestVideo"):
        assert str(tmp_path / piece) in str(info.value)
    broken = tmp_path / "broken"
    write_msrvtt(broken)
    (broken / "test_videodatainfo.json").write_text('{"videos": [')
    with pytest.raises(DatasetLayoutError, match="not valid JSON"):
        read(broken)
    (broken / "test_videodatainfo.json").write_text('{"sentences": []}')
    with pytest.raises(DatasetLayoutError, match="no 'videos' list"):
        read(broken)


def test_videos_all_with_msrvtt_data_json_one_folder_up(tmp_path):
    """The common mirror: MSRVTT/videos/all/*.mp4 with annotation/MSRVTT_data.json (all 10,000 entries)."""
    root = tmp_path / "MSRVTT"
    (root / "videos" / "all").mkdir(parents=True)
    (root / "annotation").mkdir()
    videos = [{"category": 9, "video_id": "video0", "split": "train", "id": 0},
              {"category": 0, "video_id": "video6513", "split": "validate", "id": 6513},
              {"category": 19, "video_id": "video7010", "split": "test", "id": 7010},
              {"category": 3, "video_id": "video7011", "split": "test", "id": 7011}]
    sentences = [{"caption": "second", "video_id": "video0", "sen_id": 5},
                 {"caption": "first", "video_id": "video0", "sen_id": 2}]
    (root / "annotation" / "MSRVTT_data.json").write_text(json.dumps({"info": {}, "videos": videos,
                                                                       "sentences": sentences}))
    for name in ("video0", "video6513", "video7010"):
        write_clip(root / "videos" / "all" / f"{name}.mp4")
    (root / "videos" / "all" / "video7011.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 cut short")
    result = read(tmp_path)
    rows = {r["sample_id"]: r for r in result.rows}
    assert {s: (r["split"], r["class_index"], r["path"]) for s, r in rows.items()} == {
        "video0": ("train", 9, "MSRVTT/videos/all/video0.mp4"), "video6513": ("eval", 0, "MSRVTT/videos/all/video6513.mp4"),
        "video7010": ("test", 19, "MSRVTT/videos/all/video7010.mp4")}
    assert rows["video0"]["caption"] == "first"
    (reason,) = [q["reason"] for q in result.quarantine if q["path"] == "MSRVTT/videos/all/video7011.mp4"]
    assert reason.startswith("the video container does not open")
    assert read(root).rows[0]["path"].startswith("videos/all/")
