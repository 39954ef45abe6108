"""The `paper` profile: a registry entry per benchmark of the paper, each with its reader, loader, training
spec and shipped class list; every reader refuses an empty root; shipped lists are checked against disk."""
from __future__ import annotations

import re

import pytest
from PIL import Image

from unibind_core.data.benchmarks.build import build_manifest
from unibind_core.data.benchmarks.classnames import canonical, known_lists, shipped_classes
from unibind_core.data.benchmarks.manifest import ClassInfo, DatasetLayoutError
from unibind_core.data.benchmarks.readers import READERS, caltech101, esc50, modelnet40, ucf101
from unibind_core.data.benchmarks.spec import BENCHMARKS, PROFILES, profile_benchmarks
from unibind_core.data.modalities import LOADERS

PAPER = profile_benchmarks("paper")
METHOD_TABLE = {  # docs/method.md §4: batch, lr, epochs
    "imagenet1k": (1024, 5e-4, 15), "places365": (1024, 5e-5, 20), "caltech101": (128, 1e-4, 20),
    "modelnet40": (128, 5e-5, 10), "shapenet_part": (128, 5e-5, 10), "esc50": (64, 1e-4, 10),
    "urbansound8k": (64, 1e-4, 10), "llvip": (64, 1e-3, 20), "rgbt": (64, 5e-3, 20), "msrvtt": (128, 5e-4, 20),
    "ucf101": (128, 5e-4, 20), "ncaltech101": (128, 1e-4, 20), "nimagenet": (1024, 5e-4, 15),
}
NOUNS = {"image": "photo", "point": "3D model", "audio": "sound", "thermal": "thermal image", "video": "video",
         "event": "event camera recording"}


def test_profiles():
    assert PROFILES["demo"] == ("demo_image", "demo_event", "demo_audio", "demo_pointcloud", "demo_video",
                                "demo_thermal")
    assert set(PAPER) == set(METHOD_TABLE)
    assert BENCHMARKS["ncaltech101"].paired_benchmark == "caltech101"  # the retrieval benchmark


@pytest.mark.parametrize("name", PAPER)
def test_entry_is_complete(name):
    spec = BENCHMARKS[name]
    assert spec.name == name and spec.demo_writer is None and callable(READERS[spec.reader])
    assert spec.modality in LOADERS and spec.prompt_noun == NOUNS[spec.modality]
    assert (spec.train.batch_size, spec.train.lr, spec.train.epochs) == METHOD_TABLE[name]
    listed = spec.reader_options.get("classnames", name if name in known_lists() else "imagenet1k")
    assert len(shipped_classes(listed)) >= 2


@pytest.mark.parametrize("name", PAPER)
def test_reader_refuses_an_empty_root(name, tmp_path):
    spec = BENCHMARKS[name]
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetLayoutError):
        READERS[spec.reader](tmp_path / "empty", **dict(spec.reader_options))
    with pytest.raises(DatasetLayoutError, match=re.escape(str(tmp_path / spec.root))):
        build_manifest(spec, tmp_path)


def test_shipped_lists_are_well_formed():
    sizes = {n: len(shipped_classes(n)) for n in known_lists()}
    assert sizes == {"caltech101": 101, "esc50": 50, "imagenet1k": 1000, "llvip": 2, "modelnet40": 40, "msrvtt": 20,
                     "ncaltech101": 100, "places365": 365, "rgbt": 2, "shapenet_part": 16, "ucf101": 101,
                     "urbansound8k": 10}
    for name in sizes:
        keys = [c.key for c in shipped_classes(name)]
        assert len(set(keys)) == len(keys), name
    with pytest.raises(KeyError, match="known: caltech101"):
        shipped_classes("nope")


def test_imagenet_list_is_sorted_wnids_with_open_clip_names():
    from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES

    classes = shipped_classes("imagenet1k")
    assert [c.key for c in classes] == sorted(c.key for c in classes)
    assert tuple(c.name for c in classes) == tuple(IMAGENET_CLASSNAMES)


def test_mismatch_messages_say_what_differs():
    shipped = shipped_classes("esc50")
    renamed = [ClassInfo(c.index, "kitten" if c.index == 5 else c.key, c.name) for c in shipped]
    with pytest.raises(DatasetLayoutError, match="somewhere does not match the shipped 'esc50' class list "
                                                 r"\(1 difference\(s\)\): not in the list: 'kitten'"):
        canonical(renamed, "esc50", "somewhere", indexed=True)
    assert canonical(list(shipped), "esc50", "somewhere", indexed=True)[12].name == "crackling fire"
    subset = [shipped[30], shipped[2]]  # a copy with two classes: the whole list back, indices unchanged
    assert canonical(subset, "esc50", "somewhere", indexed=True) == list(shipped)
    moved = [ClassInfo(0, shipped[30].key, "x")]
    with pytest.raises(DatasetLayoutError, match=f"'{shipped[30].key}' is class 0 on disk, 30 in the list"):
        canonical(moved, "esc50", "somewhere", indexed=True)
    assert canonical(moved, "esc50", "folders", indexed=False)[30].key == shipped[30].key  # folder order: no index


def test_a_class_list_file_replaces_the_shipped_list(tmp_path):
    path = tmp_path / "mine.tsv"
    path.write_text("# my classes\ncat\tkitty\ndog\n")
    classes = canonical([ClassInfo(5, "dog", "dog")], str(path), "disk", indexed=False)
    assert [(c.index, c.key, c.name) for c in classes] == [(0, "cat", "kitty"), (1, "dog", "dog")]
    with pytest.raises(DatasetLayoutError, match="not in the list: 'cow'"):
        canonical([ClassInfo(0, "cow", "cow")], str(path), "disk", indexed=False)
    with pytest.raises(DatasetLayoutError, match="does not exist"):
        canonical([], str(tmp_path / "nope.txt"), "disk", indexed=False)
    with pytest.raises(DatasetLayoutError, match="neither a shipped class list"):
        canonical([], "esc5O", "disk", indexed=False)


def test_existing_readers_check_their_shipped_lists(tmp_path):
    lists = tmp_path / "ucf" / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (tmp_path / "ucf" / "UCF-101").mkdir()
    classes = shipped_classes("ucf101")
    (lists / "classInd.txt").write_text("".join(f"{c.index + 1} {c.key}\r\n" for c in classes))
    (lists / "trainlist01.txt").write_text("")
    (lists / "testlist01.txt").write_text("")
    assert ucf101.read(tmp_path / "ucf", classnames="ucf101").classes[36].name == "handstand pushups"
    (lists / "classInd.txt").write_text("".join(f"{c.index + 1} {c.key.lower()}\n" for c in classes))
    with pytest.raises(DatasetLayoutError, match="classInd.txt does not match the shipped 'ucf101' class list "
                                                 r"\(101 difference\(s\)\): not in the list: 'applyeyemakeup'"):
        ucf101.read(tmp_path / "ucf", classnames="ucf101")

    mn = tmp_path / "modelnet40_normal_resampled"
    mn.mkdir()
    (mn / "modelnet40_shape_names.txt").write_text("\n".join(c.key for c in shipped_classes("modelnet40")[::-1]))
    (mn / "modelnet40_train.txt").write_text("")
    (mn / "modelnet40_test.txt").write_text("")
    with pytest.raises(DatasetLayoutError, match=r"\(40 difference\(s\)\): 'xbox' is class 0 on disk, 39 in the list"):
        modelnet40.read(mn, classnames="modelnet40")

    top = tmp_path / "cal" / "101_ObjectCategories"
    for c in shipped_classes("caltech101")[:-1]:  # yin_yang missing
        (top / c.key).mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(top / "Faces" / "image_0001.jpg")
    result = caltech101.read(tmp_path / "cal", classnames="caltech101")  # a subset: read, and what is missing named
    assert result.rows[0]["class_name"] == "faces" and len(result.classes) == 101
    assert [c.key for c in result.missing_classes()] == [c.key for c in shipped_classes("caltech101")[1:]]
    (top / "yin_yang_pictures").mkdir()
    with pytest.raises(DatasetLayoutError, match="not in the list: 'yin_yang_pictures'"):
        caltech101.read(tmp_path / "cal", classnames="caltech101")

    audio = tmp_path / "esc"
    (audio / "meta").mkdir(parents=True)
    (audio / "audio").mkdir()
    (audio / "meta" / "esc50.csv").write_text("filename,fold,target,category\n1-1-A-0.wav,1,0,cat\n")
    with pytest.raises(DatasetLayoutError, match="'cat' is class 0 on disk, 5 in the list"):
        esc50.read(audio, classnames="esc50")  # target 0 is 'dog' in ESC-50
    (audio / "meta" / "esc50.csv").write_text("filename,fold,target,category\n1-1-A-5.wav,1,5,cat\n")
    assert len(esc50.read(audio, classnames="esc50").classes) == 50
