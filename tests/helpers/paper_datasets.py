"""Tiny copies of all 13 datasets of the `paper` profile, in the layouts the readers read, for the end-to-end
run of that profile (tests/assets/test_paper_profile_end_to_end.py).

Each copy holds two or three classes with a few samples in every split (train, eval, test), so every stage has
something to work on: centre localization ranks a class's descriptions against the mean of its *training*
features (`centre_ranking=data_mean`), so every listed class needs training samples; the head selects on the
eval split and the evaluation reads the test split. Readers whose shipped class list is long (ImageNet's 1,000
wnids, Places365, ESC-50, ...) are given a two-class list file or `classnames: null` (classes as found on disk)
through the `reader_options` setting, as a researcher with a subset would. The audio and UCF-101 copies keep
classes whose own numbers are not 0..C-1 (ESC-50 targets 0, 10, 14; UrbanSound8K classID 1, 3, 8; UCF-101
classInd 1, 37, 101): the manifest renumbers them densely (docs/architecture.md, "Class indices"). Captions
ship beside each copy in the dataset's captions file (the manifest captioner reads them; MSR-VTT's come from
its own sentences).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from tests.helpers.layouts import video_bytes, write_esc50
from unibind_core.data.benchmarks.manifest import hashed_split
from unibind_core.data.benchmarks.spec import BENCHMARKS
from unibind_core.data.modalities.events_format import encode_events
from unibind_core.demo.world import CAPTIONS_FILE

PER_SPLIT = 2  # samples per class and split where the layout fixes the split
SEED = np.random.default_rng


def _image(path: Path, shade: int, size: tuple[int, int] = (32, 32)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = SEED(shade).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    pixels[..., shade % 3] = min(255, 60 + shade)
    Image.fromarray(pixels).save(path)


def _names_hashed(stem: str, eval_fraction: float, test_fraction: float = 0.0) -> list[str]:
    """Sample names chosen so that the reader's hashed split gives PER_SPLIT of each split it carves."""
    want = {"train": PER_SPLIT, "eval": PER_SPLIT if eval_fraction else 0, "test": PER_SPLIT if test_fraction else 0}
    names, k = [], 0
    while any(want.values()):
        k += 1
        name = stem.format(k=k)
        split = hashed_split(name.split("|")[0], eval_fraction, test_fraction)
        if want[split]:
            want[split] -= 1
            names.append(name)
    return names


def _captions(root: Path, paths: list[str], sample_ids: tuple[str, ...] = ()) -> None:
    """The captions file: one caption per file (`path`) and per listed sample (`sample_id`: a crop)."""
    lines = [
        json.dumps({"path": p, "caption": f"a sample at {p.rsplit('/', 2)[-2]} number {i}"})
        for i, p in enumerate(paths)
    ]
    lines += [
        json.dumps({"sample_id": sid, "caption": f"an empty stretch of the scene beside {sid}"}) for sid in sample_ids
    ]
    (root / CAPTIONS_FILE).write_text("\n".join(lines) + "\n")


def _list_file(path: Path, rows: list[tuple[str, str]]) -> str:
    path.write_text("".join(f"{key}\t{name}\n" for key, name in rows))
    return str(path)


CLASS_FOLDERS = ("airplanes", "Faces_easy")  # Caltech-101 and N-Caltech101 share them (the retrieval pairs)


def caltech101(root: Path) -> dict:
    paths = []
    for c, folder in enumerate(CLASS_FOLDERS):
        for name in _names_hashed(f"{folder}/image_{{k:04d}}", 0.1, 0.3):
            paths.append(f"101_ObjectCategories/{name}.jpg")
            _image(root / paths[-1], 40 * c + len(paths))
    _captions(root, paths)
    return {"classnames": None}


def ncaltech101(root: Path) -> dict:
    paths = []
    for c, folder in enumerate(CLASS_FOLDERS):
        for name in _names_hashed(f"{folder}/image_{{k:04d}}", 0.1, 0.3):
            paths.append(f"Caltech101/{name}.bin")
            rng = SEED(len(paths))
            n = 300
            (root / paths[-1]).parent.mkdir(parents=True, exist_ok=True)
            (root / paths[-1]).write_bytes(
                encode_events(
                    rng.integers(0, 64 + 60 * c, n),
                    rng.integers(0, 48, n),
                    np.sort(rng.integers(0, 100_000, n)),
                    rng.integers(0, 2, n),
                )
            )
    _captions(root, paths)
    return {"classnames": None}


IMAGENET = (("n01440764", "tench"), ("n01443537", "goldfish"))


def imagenet1k(root: Path) -> dict:
    paths = []
    for c, (wnid, _) in enumerate(IMAGENET):
        for name in _names_hashed(f"{wnid}_{{k}}", 0.5):
            paths.append(f"train/{wnid}/{name}.JPEG")
            _image(root / paths[-1], 10 + c * 50 + len(paths))
        for k in range(PER_SPLIT):
            paths.append(f"val/{wnid}/ILSVRC2012_val_{c * 10 + k + 1:08d}.JPEG")
            _image(root / paths[-1], 10 + c * 50 + len(paths))
    _captions(root, paths)
    return {"classnames": _list_file(root.parent / "imagenet_subset.tsv", list(IMAGENET)), "eval_fraction": 0.5}


def places365(root: Path) -> dict:
    categories = ("/a/airfield", "/z/zen_garden")
    root.mkdir(parents=True)
    (root / "categories_places365.txt").write_text("".join(f"{key} {i}\n" for i, key in enumerate(categories)))
    train, val, paths = [], [], []
    for c, key in enumerate(categories):
        for name in _names_hashed(f"{key[1:]}/{{k:08d}}", 0.5):
            train.append(f"/{name}.jpg {c}")
            paths.append(f"data_256/{name}.jpg")
            _image(root / paths[-1], 20 + 60 * c + len(paths))
        for k in range(PER_SPLIT):
            name = f"Places365_val_{c * 10 + k + 1:08d}.jpg"
            val.append(f"{name} {c}")
            paths.append(f"val_256/{name}")
            _image(root / paths[-1], 20 + 60 * c + len(paths))
    (root / "places365_train_standard.txt").write_text("\n".join(train) + "\n")
    (root / "places365_val.txt").write_text("\n".join(val) + "\n")
    _captions(root, paths)
    return {"classnames": None, "eval_fraction": 0.5}


def _points_txt(path: Path, seed: int, columns: int = 6, sep: str = ",") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = SEED(seed)
    rows = np.concatenate([rng.normal(size=(64, 3)) * (1 + seed % 2), rng.normal(size=(64, columns - 3))], axis=1)
    np.savetxt(path, rows, fmt="%.6f", delimiter=sep)


def modelnet40(root: Path) -> dict:
    classes = ("airplane", "bathtub")
    root.mkdir(parents=True)
    (root / "modelnet40_shape_names.txt").write_text("\n".join(classes) + "\n")
    train, test, paths = [], [], []
    for key in classes:
        train += _names_hashed(f"{key}_{{k:04d}}", 0.3)
        test += [f"{key}_{900 + k:04d}" for k in range(PER_SPLIT)]
    for i, sample in enumerate(train + test):
        paths.append(f"{sample.rsplit('_', 1)[0]}/{sample}.txt")
        _points_txt(root / paths[-1], i)
    (root / "modelnet40_train.txt").write_text("\n".join(train) + "\n")
    (root / "modelnet40_test.txt").write_text("\n".join(test) + "\n")
    _captions(root, paths)
    return {"classnames": None, "eval_fraction": 0.3}


def shapenet_part(root: Path) -> dict:
    categories = (("Airplane", "02691156"), ("Bag", "02773838"))
    (root / "train_test_split").mkdir(parents=True)
    (root / "synsetoffset2category.txt").write_text("".join(f"{n}\t{s}\n" for n, s in categories))
    paths, k = [], 0
    for split in ("train", "val", "test"):
        entries = []
        for _, synset in categories:
            for _ in range(PER_SPLIT):
                k += 1
                model = f"{k:08x}model"
                entries.append(f"shape_data/{synset}/{model}")
                paths.append(f"{synset}/{model}.txt")
                _points_txt(root / paths[-1], k, columns=7, sep=" ")
        (root / "train_test_split" / f"shuffled_{split}_file_list.json").write_text(json.dumps(entries))
    _captions(root, paths)
    return {"classnames": None}


ESC50_TARGETS = (0, 10, 14)  # of the 50, by the dataset's own target numbers


def esc50(root: Path) -> dict:
    write_esc50(root, classes=ESC50_TARGETS, per_class=3)  # folds 1-3 of the official 5: train 1, eval 2, test 3
    _captions(root, [f"audio/{p.name}" for p in sorted((root / "audio").iterdir())])
    return {"classnames": None, "test_folds": [3], "eval_folds": [2]}


def _wav(path: Path, seed: int, rate: int = 16000, seconds: float = 0.5) -> None:
    from scipy.io import wavfile

    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(rate * seconds)) / rate
    wavfile.write(path, rate, (0.3 * np.sin(2 * np.pi * (200 + 50 * seed) * t) * 32767).astype(np.int16))


FOLDS = 3  # of UrbanSound8K's official 10, to keep the cross-validation's runs few


def urbansound8k(root: Path) -> dict:
    classes = ((1, "car_horn"), (3, "dog_bark"), (8, "siren"))  # the dataset's classID numbers
    rows, paths = [], []
    for fold in range(1, FOLDS + 1):  # one clip per class and fold: every fold of the cross-validation has each class
        for cid, name in classes:
            clip = f"{1000 + fold * 10 + cid}-{cid}-0-0.wav"
            rows.append(f"{clip},{1000 + fold * 10 + cid},0.0,0.5,1,{fold},{cid},{name}")
            paths.append(f"audio/fold{fold}/{clip}")
            _wav(root / paths[-1], cid * 3 + fold % 2)
    (root / "metadata").mkdir(parents=True)
    (root / "metadata" / "UrbanSound8K.csv").write_text(
        "slice_file_name,fsID,start,end,salience,fold,classID,class\n" + "\n".join(rows) + "\n"
    )
    _captions(root, paths)
    return {"classnames": None, "test_folds": [FOLDS], "eval_folds": [FOLDS - 1]}


W, H = 96, 64


def _voc(boxes: list[tuple[int, int, int, int]]) -> str:
    objs = "".join(
        f"<object><name>person</name><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin><xmax>{b[2]}</xmax>"
        f"<ymax>{b[3]}</ymax></bndbox></object>"
        for b in boxes
    )
    return f"<annotation><size><width>{W}</width><height>{H}</height><depth>3</depth></size>{objs}</annotation>"


def llvip(root: Path) -> dict:
    (root / "Annotations").mkdir(parents=True)
    paths = []
    stems = [(s, "train") for s in _names_hashed("01{k:04d}", 0.5)] + [(f"19{k:04d}", "test") for k in range(PER_SPLIT)]
    for i, (stem, split) in enumerate(stems):
        for kind in ("infrared", "visible"):
            _image(root / kind / split / f"{stem}.jpg", 30 + i, (W, H))
        paths.append(f"infrared/{split}/{stem}.jpg")
        (root / "Annotations" / f"{stem}.xml").write_text(_voc([(4, 4, 24, 40)]))
    _captions(root, paths, tuple(f"{stem}_bg0" for stem, _ in stems))  # one background crop per person
    return {"eval_fraction": 0.5}


def rgbt(root: Path) -> dict:
    videos = [(s.split("/")[0], s.split("/")[1]) for s in _names_hashed("set00/V{k:03d}", 0.5)]
    videos += [("set06", "V000")]
    paths = []
    for i, (set_name, video) in enumerate(videos):
        for frame in ("I00000", "I00001"):
            note = root / "annotations" / set_name / video / f"{frame}.txt"
            note.parent.mkdir(parents=True, exist_ok=True)
            note.write_text("% bbGt version=3\nperson 4 4 20 36 0 0 0 0 0 0 0\n")
            for kind in ("lwir", "visible"):
                _image(root / "images" / set_name / video / kind / f"{frame}.jpg", 50 + i, (W, H))
            paths.append(f"images/{set_name}/{video}/lwir/{frame}.jpg")
    crops = tuple(f"{set_name}_{video}_{frame}_bg0" for set_name, video in videos for frame in ("I00000", "I00001"))
    _captions(root, paths, crops)
    return {"eval_fraction": 0.5, "frame_stride": 1}


def msrvtt(root: Path) -> dict:
    clip = video_bytes("mp4")
    videos, sentences, n = {"train_val": [], "test": []}, [], 0
    for category in (0, 1):
        for split in ("train", "train", "validate", "validate", "test", "test"):
            folder = "TestVideo" if split == "test" else "TrainValVideo"
            vid = f"video{n}"
            n += 1
            videos["test" if split == "test" else "train_val"].append(
                {"category": category, "video_id": vid, "split": split, "id": n}
            )
            sentences.append({"caption": f"a clip of kind {category} number {n}", "video_id": vid, "sen_id": n})
            (root / folder).mkdir(parents=True, exist_ok=True)
            (root / folder / f"{vid}.mp4").write_bytes(clip)
    for part, entries in videos.items():
        (root / f"{part}_videodatainfo.json").write_text(
            json.dumps({"info": {}, "videos": entries, "sentences": sentences})
        )
    return {"classnames": _list_file(root.parent / "msrvtt_subset.tsv", [("music", "music"), ("people", "people")])}


def ucf101(root: Path) -> dict:
    classes = ((1, "ApplyEyeMakeup"), (37, "HandstandPushups"), (101, "YoYo"))  # classInd's own numbers
    clip = video_bytes("avi")
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_bytes("".join(f"{n} {c}\r\n" for n, c in classes).encode())
    train, test, paths = [], [], []
    for number, key in classes:
        groups = [int(g.split("_g")[1]) for g in _names_hashed(f"{key}_g{{k:02d}}", 0.5)]
        for g in groups + [90 + k for k in range(PER_SPLIT)]:
            entry = f"{key}/v_{key}_g{g:02d}_c01.avi"
            (train if g < 90 else test).append(f"{entry} {number}" if g < 90 else entry)
            paths.append(f"UCF-101/{entry}")
            (root / paths[-1]).parent.mkdir(parents=True, exist_ok=True)
            (root / paths[-1]).write_bytes(clip)
    (lists / "trainlist01.txt").write_bytes("".join(f"{e}\r\n" for e in train).encode())
    (lists / "testlist01.txt").write_bytes("".join(f"{e}\r\n" for e in test).encode())
    _captions(root, paths)
    return {"classnames": None, "eval_fraction": 0.5}


def nimagenet(root: Path) -> dict:
    authors = "/home/someone/N_Imagenet"
    dtype = [("x", "<u2"), ("y", "<u2"), ("t", "<i8"), ("p", "?")]
    lines: dict[str, list[str]] = {"train_list.txt": [], "val_list.txt": []}
    paths = []
    for c, (wnid, _) in enumerate(IMAGENET):
        names = [(n, "extracted_train", "train_list.txt") for n in _names_hashed(f"{wnid}_{{k}}", 0.5)]
        names += [(f"ILSVRC2012_val_{c * 10 + k + 1:08d}", "extracted_val", "val_list.txt") for k in range(PER_SPLIT)]
        for name, folder, listing in names:
            paths.append(f"{folder}/{wnid}/{name}.npz")
            lines[listing].append(f"{authors}/{paths[-1]}")
            rng, events = SEED(len(paths)), np.zeros(400, dtype=dtype)
            events["x"], events["y"] = rng.integers(0, 320 + 300 * c, 400), rng.integers(0, 480, 400)
            events["t"], events["p"] = np.sort(rng.integers(0, 50_000, 400)), rng.integers(0, 2, 400).astype(bool)
            (root / folder / wnid).mkdir(parents=True, exist_ok=True)
            np.savez_compressed(root / paths[-1], event_data=events)
    for name, entries in lines.items():
        (root / name).write_text("\n".join(entries) + "\n")
    _captions(root, paths)
    return {"classnames": None, "eval_fraction": 0.5}


WRITERS: dict[str, Callable[[Path], dict]] = {
    "imagenet1k": imagenet1k,
    "places365": places365,
    "caltech101": caltech101,
    "modelnet40": modelnet40,
    "shapenet_part": shapenet_part,
    "esc50": esc50,
    "urbansound8k": urbansound8k,
    "llvip": llvip,
    "rgbt": rgbt,
    "msrvtt": msrvtt,
    "ucf101": ucf101,
    "ncaltech101": ncaltech101,
    "nimagenet": nimagenet,
}


def write_paper_datasets(datasets: Path) -> dict[str, dict]:
    """Every dataset of the paper profile under `datasets/<spec.root>`; returns the `reader_options` setting."""
    return {bench: write(Path(datasets) / BENCHMARKS[bench].root) for bench, write in WRITERS.items()}
