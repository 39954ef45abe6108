"""Issue 19 part 4, your own data: a folder of three classes of images and one of three classes of sounds,
written here with no captions, declared in a benchmarks file (UNIBIND_BENCHMARKS), become the partitions of
the code location's `own` profile; every stage materializes through the `dagster` CLI (captions: the
class-prompt default, offline), `predictions` classifies the inbox and `unibind predict` new files.
One subprocess (tests/assets/own_data_cli.py) on tiny open_clip / CLAP models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from tests.assets.test_paper_profile_end_to_end import tiny_open_clip_folder
from tests.core.encoders.backbone.tiny_models import save_tiny_clap
from unibind_core.storage.layout import Layout

REPO = Path(__file__).resolve().parents[2]
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220)}
TONES = {"low_hum": 200.0, "beep": 1000.0, "whistle": 3000.0}
RATE = 8000


def write_image(path: Path, rgb: tuple[int, int, int], rng: np.random.Generator) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.clip(np.array(rgb) + rng.normal(0, 20, (32, 32, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def write_tone(path: Path, hz: float, rng: np.random.Generator) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(RATE // 2) / RATE
    signal = 0.5 * np.sin(2 * np.pi * hz * t + rng.uniform(0, np.pi)) + rng.normal(0, 0.02, t.size)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(RATE)
        w.writeframes((np.clip(signal, -1, 1) * 32767).astype(np.int16).tobytes())
    return path


def write_own_data(tmp: Path, data: Path) -> tuple[Path, dict[str, list[str]], dict[str, list[str]]]:
    """The two folders (12 files a class), the benchmarks file, and new files of each class (inbox too)."""
    rng = np.random.default_rng(0)
    for name, rgb in COLOURS.items():
        for i in range(12):
            write_image(tmp / "my_photos" / name / f"{i}.png", rgb, rng)
    for name, hz in TONES.items():
        for i in range(12):
            write_tone(data / "datasets" / "my_sounds" / name / f"{i}.wav", hz, rng)
    new = {"own_images": [], "own_sounds": []}
    truth = {"own_images": [], "own_sounds": []}
    for name, rgb in COLOURS.items():
        for i in range(2):
            new["own_images"].append(str(write_image(data / "inbox" / "own_images" / f"{name}{i}.png", rgb, rng)))
            truth["own_images"].append(name)
    for name, hz in TONES.items():
        new["own_sounds"].append(str(write_tone(data / "inbox" / "own_sounds" / f"{name}.wav", hz, rng)))
        truth["own_sounds"].append(name.replace("_", " "))
    config = tmp / "benchmarks.yaml"
    config.write_text(f"""profile: own
benchmarks:
  - name: own_images
    modality: image
    reader: folder
    root: {tmp / "my_photos"}
    reader_options: {{suffixes: [.png]}}
    train: {{lr: 0.01, epochs: 40}}
  - name: own_sounds
    modality: audio
    reader: folder
    root: my_sounds            # under <data_root>/datasets
    prompt_noun: sound
    loader_options: {{sample_rate: {RATE}, num_samples: {RATE // 2}}}
    train: {{lr: 0.01, epochs: 40}}
""")
    return config, new, truth


@pytest.mark.slow
def test_own_folders_run_every_stage_from_the_cli_and_predict_classifies_new_files(tmp_path):
    data = tmp_path / "data"
    benchmarks_file, new_files, truth = write_own_data(tmp_path, data)
    clap = str(save_tiny_clap(tmp_path))
    config = {
        "data_root": str(data),
        "backbone": "open_clip",
        "backbone_weights": str(tiny_open_clip_folder(tmp_path)),
        "backbone_per_modality": json.dumps({"audio": {"backbone": "clap", "model": clap}}),
        "descriptions_per_category": 4,
        "k": 2,
        "device": "cpu",
        "batch_size": 64,
        "compare_aligners": "",
    }
    (tmp_path / "run.json").write_text(json.dumps({"config": config, "new_files": new_files}))
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {
        **os.environ,
        "UNIBIND_BENCHMARKS": str(benchmarks_file),
        "UNIBIND_PROFILE": "own",
        "UNIBIND_EXECUTOR": "in_process",
        "DAGSTER_HOME": str(home),
        "PYTHONPATH": str(REPO),
        "HF_HUB_OFFLINE": "1",
    }
    out = subprocess.run(
        [sys.executable, "-m", "tests.assets.own_data_cli", str(tmp_path / "run.json"), str(tmp_path / "out.json")],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, (out.stdout[-3000:], out.stderr[-5000:])
    seen = json.loads((tmp_path / "out.json").read_text())
    print(out.stdout)

    # The file's benchmarks are the profile's partitions, listed by `unibind benchmarks`; every call succeeded.
    assert seen["benchmarks"] == seen["partitions"] == ["own_images", "own_sounds"]
    assert seen["curated_observed"] == [["curated_prompts", "own_images"]]  # the curated-inputs sensor's check
    for bench, run in seen["checked"].items():  # `unibind manifest B`: the declared root, 36 files, 3 classes
        assert run["exit_code"] == 0 and run["output"].startswith(f"{bench}: 36 samples, 3 classes, 0 quarantined")
    assert [c for c in seen["calls"] if c["error"]] == [], out.stdout[-3000:]
    done = {(m["asset"], m["partition"]) for m in seen["materialized"]}
    stages = (
        "benchmark_manifest",
        "data_captions",
        "knowledge_base",
        "data_embeddings",
        "embedding_centres",
        "aligned_heads",
        "benchmark_evaluation",
        "embedding_index",
        "predictions",
    )
    assert {(a, b) for a in stages for b in seen["benchmarks"]} <= done
    assert {("retrieval_evaluation", None), ("results_table", None)} <= done
    assert seen["checks"] and all(c["passed"] for c in seen["checks"]), [c for c in seen["checks"] if not c["passed"]]

    # No caption shipped: each training sample's caption is its class prompt (data/benchmarks/user.py), so heads train.
    captions = pq.read_table(Layout(data).captions("own_sounds")).to_pylist()
    assert captions and {(r["Category"], r["Description"]) for r in captions} <= {
        (k, f"A sound of a {k.replace('_', ' ')}.") for k in TONES
    }
    heads = {m["partition"]: m["metadata"] for m in seen["materialized"] if m["asset"] == "aligned_heads"}
    assert all(h.get("train_without_caption", 0) == 0 for h in heads.values()), heads
    results = pq.read_table(data / "results" / "results.parquet")
    assert sorted(results["benchmark"].to_pylist()) == ["own_images", "own_sounds"]

    # New files classified by `unibind predict` (fine-tuned): one top-1 row each, a class of the folder's; the
    # colours through the head and the class prompts (the caption it was trained towards) mostly right.
    evaluated = {
        (r["benchmark"], r["classifier"]): r["accuracy"]
        for b in seen["benchmarks"]
        for r in pq.read_table(Layout(data).evaluation(b)).to_pylist()
        if r["setting"] == "fine-tuned"
    }
    hits = {}
    for bench, files in new_files.items():
        names = set(COLOURS) if bench == "own_images" else {n.replace("_", " ") for n in TONES}
        for classifier in ("centres", "templates"):
            run = seen["predicted"][f"{bench}/{classifier}"]
            assert run["exit_code"] == 0, run["output"]
            rows = run["rows"]
            assert [r["path"] for r in rows] == files and [r["rank"] for r in rows] == [0] * len(files)
            assert {r["class_name"] for r in rows} <= names and all(np.isfinite(r["score"]) for r in rows)
            hits[bench, classifier] = sum(r["class_name"] == t for r, t in zip(rows, truth[bench])) / len(rows)
    print("fine-tuned accuracy, evaluation (test split):", evaluated, "predict (new files):", hits)
    assert hits["own_images", "templates"] >= 4 / 6  # chance: 1/3

    # The predictions asset classified the inbox.
    for bench, files in new_files.items():
        inbox = pq.read_table(data / "predictions" / f"{bench}.parquet").to_pylist()
        assert {Path(r["path"]).name for r in inbox} == {Path(f).name for f in files}
