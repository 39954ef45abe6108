"""The `paper` profile end to end: tiny on-disk copies of all 13 datasets (14 benchmarks with Caltech-101 <->
N-Caltech101 retrieval), tiny models of each family built from configs and saved locally (an open_clip model
folder for the vision-like modalities and points, a ClapModel folder for audio, via backbone_per_modality), and
every asset of the profile materialized through Dagster.

What the stages need from a copy (tests/helpers/paper_datasets.py): training samples of every listed class
(centres rank descriptions against the class's mean training feature), eval and test samples, and a caption
for every sample trained on (the manifest captioner reads the captions file shipped with each copy).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch

from tests.core.encoders.backbone.tiny_models import (
    TINY_OPEN_CLIP_CFG,
    save_tiny_clap,
    save_tiny_open_clip,
)
from tests.helpers.paper_datasets import write_paper_datasets
from unibind_core.data.benchmarks.spec import BENCHMARKS, profile_benchmarks
from unibind_core.storage.layout import Layout

REPO = Path(__file__).resolve().parents[2]
PAPER = profile_benchmarks("paper")


def tiny_open_clip_folder(folder: Path) -> Path:
    """The tiny open_clip model in the hub layout (open_clip_config.json + weights): `backbone_weights`
    names the folder and no architecture has to be registered in the process that loads it."""
    from safetensors.torch import save_file

    state = torch.load(save_tiny_open_clip(folder), weights_only=True)
    out = folder / "tiny-open-clip"
    out.mkdir()
    (out / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_OPEN_CLIP_CFG, "preprocess_cfg": {}}))
    save_file({k: v.contiguous() for k, v in state.items()}, str(out / "open_clip_model.safetensors"))
    return out


def paper_config(tmp_path: Path, data: Path, **overrides) -> dict:
    """The `unibind` resource's config for the tiny copies under `data` and tiny models saved in `tmp_path`."""
    reader_options = write_paper_datasets(data / "datasets")
    clap = save_tiny_clap(tmp_path)
    return {
        "data_root": str(data),
        "reader_options": json.dumps(reader_options),
        "backbone": "open_clip",
        "backbone_weights": str(tiny_open_clip_folder(tmp_path)),
        "backbone_per_modality": json.dumps({"audio": {"backbone": "clap", "model": str(clap)}}),
        "descriptions_per_category": 4,
        "k": 2,
        "head_epochs": 1,
        "device": "cpu",
        "batch_size": 64,
        "compare_aligners": "",  # the primary aligner only: the others train through the same stage
        "views": {"video_frames": 2, "point_views": 2, "point_size": 32},
        **overrides,
    }


@pytest.mark.slow
def test_every_asset_of_the_paper_profile_materializes_on_tiny_copies(tmp_path):
    data = tmp_path / "data"
    config = paper_config(tmp_path, data)
    (tmp_path / "config.json").write_text(json.dumps(config))
    env = {**os.environ, "UNIBIND_PROFILE": "paper", "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.assets.paper_profile_run",
            str(tmp_path / "config.json"),
            str(tmp_path / "out.json"),
        ],
        check=False,
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, (out.stdout[-3000:], out.stderr[-5000:])
    seen = json.loads((tmp_path / "out.json").read_text())
    assert seen["profile"] == "paper" and seen["benchmarks"] == list(PAPER) and len(PAPER) == 13

    # Every asset of the code location, every partition of each partitioned one.
    done = {(m["asset"], m["partition"]) for m in seen["materialized"]}
    partitioned = {a for a, p in done if p is not None}
    assert set(seen["assets"]) == {a for a, _ in done}
    assert not {"demo_world", "demo_backbone"} & set(seen["assets"])
    assert {(a, b) for a in partitioned for b in PAPER} <= done
    assert {"retrieval_evaluation", "results_table"} <= {a for a, p in done if p is None}
    assert seen["checks"] and all(c["passed"] for c in seen["checks"]), [c for c in seen["checks"] if not c["passed"]]

    # Each benchmark embedded by its modality's backbone, its texts by the same model's text tower.
    features = {m["partition"]: m["metadata"] for m in seen["materialized"] if m["asset"] == "data_embeddings"}
    assert {b for b, m in features.items() if m["backbone"].startswith("clap:")} == {
        b for b in PAPER if BENCHMARKS[b].modality == "audio"
    }
    assert all(m["backbone"].startswith("open_clip:") for b, m in features.items() if BENCHMARKS[b].modality != "audio")

    # Heads trained on the configured device, recorded with it.
    heads = {m["partition"]: m["metadata"] for m in seen["materialized"] if m["asset"] == "aligned_heads"}
    assert {h["device"] for h in heads.values()} == {"cpu"} and {h["dtype"] for h in heads.values()} == {"float32"}
    assert heads["esc50"]["heads"] == heads["urbansound8k"]["heads"] == 1 + 3  # the fixed split and 3 folds

    # The results table: one row per benchmark; retrieval between Caltech-101 and N-Caltech101 (the 14th).
    results = pq.read_table(data / "results" / "results.parquet").to_pylist()
    assert sorted(r["benchmark"] for r in results) == sorted(PAPER)
    retrieval = pq.read_table(Layout(data).retrieval).to_pylist()
    assert {(r["query_benchmark"], r["gallery_benchmark"]) for r in retrieval} == {
        ("caltech101", "ncaltech101"),
        ("ncaltech101", "caltech101"),
    }
    # Every number of the paper beside ours: the names of the shipped paper table and of the profile agree.
    comparison = pq.read_table(data / "results" / "paper_comparison.parquet").to_pylist()
    with_paper = [r for r in comparison if r["paper"] is not None]
    assert with_paper and all(r["ours"] is not None for r in with_paper)
    assert {r["benchmark"] for r in with_paper} == (set(PAPER) - {"caltech101"}) | {
        "caltech101->ncaltech101",
        "ncaltech101->caltech101",
    }  # Caltech-101 is in the paper as retrieval only
    print(
        "dagster runs:", len(seen["timings"]), "wall per run (s):", {k: round(v, 1) for k, v in seen["timings"].items()}
    )
