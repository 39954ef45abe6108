"""Reader + loader throughput on scaled-up fixtures in the real on-disk formats (issue 4).

Writes `--n` recordings each in the N-Caltech101 (.bin) and N-ImageNet (.npz, lists with the authors'
absolute paths) event formats and `--n` clips each in the ESC-50 (5 s, 44.1 kHz 16-bit) and UrbanSound8K
(4 s, mixed 16/24-bit/float, 22.05-96 kHz, mono/stereo) audio formats to a temporary folder. Then, per
benchmark of the `paper` profile, it times the reader building the manifest and the modality loader
decoding every sample with that benchmark's loader options (224 px event frames, 16 kHz audio).

Single process, warm page cache (the files were just written), so the figures are decode-bound.

    .venv/bin/python bench/reader_throughput.py [--n 2000] [--events 100000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.io import wavfile

from unibind_core.data.benchmarks.classnames import shipped_classes
from unibind_core.data.benchmarks.readers import READERS
from unibind_core.data.benchmarks.spec import BENCHMARKS
from unibind_core.data.modalities import load_sample
from unibind_core.data.modalities.events_format import encode_events
from unibind_core.data.modalities.wav_format import write_pcm24

AUTHORS = "/home/jhkim/Datasets/N_Imagenet"


def event_arrays(rng: np.random.Generator, n: int, width: int, height: int) -> tuple[np.ndarray, ...]:
    return (
        rng.integers(0, width, n),
        rng.integers(0, height, n),
        np.sort(rng.integers(0, 300_000, n)),
        rng.integers(0, 2, n),
    )


def write_ncaltech101(root: Path, n: int, events: int, rng: np.random.Generator) -> None:
    classes = shipped_classes("ncaltech101")
    for k in range(n):
        folder = root / "Caltech101" / classes[k % len(classes)].key
        folder.mkdir(parents=True, exist_ok=True)
        x, y, t, p = event_arrays(rng, events, 240, 180)
        (folder / f"image_{k // len(classes) + 1:04d}.bin").write_bytes(encode_events(x, y, t, p))


def write_nimagenet(root: Path, n: int, events: int, rng: np.random.Generator) -> None:
    wnids = [c.key for c in shipped_classes("imagenet1k")[::10]]  # 100 classes
    lines = {"train_list.txt": [], "val_list.txt": []}
    dtype = [("x", "<u2"), ("y", "<u2"), ("t", "<i8"), ("p", "?")]
    for k in range(n):
        val = k % 10 == 0
        folder, stem = ("extracted_val", f"ILSVRC2012_val_{k:08d}") if val else ("extracted_train", f"x_{k}")
        wnid = wnids[k % len(wnids)]
        data = np.zeros(events, dtype=dtype)
        data["x"], data["y"], data["t"], data["p"] = event_arrays(rng, events, 640, 480)
        (root / folder / wnid).mkdir(parents=True, exist_ok=True)
        np.savez_compressed(root / folder / wnid / f"{stem}.npz", event_data=data)
        lines["val_list.txt" if val else "train_list.txt"].append(f"{AUTHORS}/{folder}/{wnid}/{stem}.npz")
    for name, entries in lines.items():
        (root / name).write_text("\n".join(entries) + "\n")


def noise(rng: np.random.Generator, rate: int, seconds: float, channels: int) -> np.ndarray:
    return np.clip(rng.normal(0, 0.2, (int(rate * seconds), channels)), -1, 1)


def write_esc50(root: Path, n: int, rng: np.random.Generator) -> None:
    classes = shipped_classes("esc50")
    (root / "audio").mkdir(parents=True)
    (root / "meta").mkdir()
    rows = ["filename,fold,target,category,esc10,src_file,take"]
    for k in range(n):
        c = classes[k % len(classes)]
        name = f"{k % 5 + 1}-{100000 + k}-A-{c.index}.wav"
        wavfile.write(root / "audio" / name, 44100, (noise(rng, 44100, 5, 1)[:, 0] * 32767).astype(np.int16))
        rows.append(f"{name},{k % 5 + 1},{c.index},{c.key},False,{100000 + k},A")
    (root / "meta" / "esc50.csv").write_text("\n".join(rows) + "\n")


def write_urbansound8k(root: Path, n: int, rng: np.random.Generator) -> None:
    classes = shipped_classes("urbansound8k")
    rows = ["slice_file_name,fsID,start,end,salience,fold,classID,class"]
    formats = [  # (rate, channels, writer): what Freesound uploads come as
        (44100, 1, lambda p, r, s: wavfile.write(p, r, (s * 32767).astype(np.int16))),
        (48000, 2, write_pcm24),
        (22050, 2, lambda p, r, s: wavfile.write(p, r, (s * 32767).astype(np.int16))),
        (96000, 1, lambda p, r, s: wavfile.write(p, r, s.astype(np.float32))),
    ]
    for k in range(n):
        c, fold = classes[k % len(classes)], k % 10 + 1
        rate, channels, writer = formats[k % len(formats)]
        name = f"{200000 + k}-{c.index}-0-0.wav"
        (root / "audio" / f"fold{fold}").mkdir(parents=True, exist_ok=True)
        writer(root / "audio" / f"fold{fold}" / name, rate, noise(rng, rate, 4, channels))
        rows.append(f"{name},{200000 + k},0.0,4.0,1,{fold},{c.index},{c.key}")
    (root / "metadata").mkdir(parents=True)
    (root / "metadata" / "UrbanSound8K.csv").write_text("\n".join(rows) + "\n")


def measure(name: str, root: Path) -> dict[str, float]:
    """Reader over the whole root, then the loader over every row; seconds and samples/second."""
    spec = BENCHMARKS[name]
    start = time.perf_counter()
    result = READERS[spec.reader](root, **dict(spec.reader_options))
    read_s = time.perf_counter() - start
    rows = result.manifest().to_pylist()
    start = time.perf_counter()
    for row in rows:
        load_sample(spec.modality, root, row, **dict(spec.loader_options))
    load_s = time.perf_counter() - start
    return {"samples": len(rows), "quarantined": len(result.quarantine), "read_s": read_s, "load_s": load_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="files per dataset")
    parser.add_argument("--events", type=int, default=100_000, help="events per recording")
    parser.add_argument("--keep", type=Path, help="write the fixtures here and keep them")
    args = parser.parse_args()
    if args.n < 100:  # one recording per N-Caltech101 class at least: the reader checks the full class list
        parser.error("--n must be at least 100")
    base = args.keep or Path(tempfile.mkdtemp(prefix="unibind-bench-"))
    rng = np.random.default_rng(0)
    writers = {
        "ncaltech101": lambda r: write_ncaltech101(r, args.n, args.events, rng),
        "nimagenet": lambda r: write_nimagenet(r, args.n, args.events, rng),
        "esc50": lambda r: write_esc50(r, args.n, rng),
        "urbansound8k": lambda r: write_urbansound8k(r, args.n, rng),
    }
    try:
        print(
            f"{'benchmark':<13} {'samples':>7} {'reader s':>9} {'reader/s':>9} {'load s':>8} {'load/s':>8} "
            f"{'reader+loader/s':>16}  (fixtures in {base})"
        )
        for name, write in writers.items():
            root = base / name
            start = time.perf_counter()
            write(root)
            written = time.perf_counter() - start
            m = measure(name, root)
            print(
                f"{name:<13} {m['samples']:>7} {m['read_s']:>9.2f} {m['samples'] / m['read_s']:>9.0f} "
                f"{m['load_s']:>8.2f} {m['samples'] / m['load_s']:>8.1f} "
                f"{m['samples'] / (m['read_s'] + m['load_s']):>16.1f}  (written in {written:.0f}s, "
                f"{m['quarantined']} quarantined)",
                flush=True,
            )
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
