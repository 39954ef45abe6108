"""The reproducibility record: code commit, weight hashes, split definitions, prompt-set hashes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from unibind_core.core.settings import Settings
from unibind_core.stages.provenance import git_commit, prompt_sets, split_definition, weights_hash


def test_git_commit_is_the_checkout_head_and_unknown_outside_git(tmp_path):
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[3],
    ).stdout.strip()
    record = git_commit()
    assert re.fullmatch(r"[0-9a-f]{40}", record["commit"]) and record["commit"] == head
    assert isinstance(record["dirty"], bool)
    assert git_commit(tmp_path) == {"commit": "unknown", "dirty": None}


def test_weights_hash_follows_the_bytes_of_every_weights_file(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.safetensors").write_bytes(b"abc")
    (tmp_path / "m" / "README.md").write_bytes(b"not weights")
    before = weights_hash(tmp_path / "m")
    (tmp_path / "m" / "README.md").write_bytes(b"edited")
    assert weights_hash(tmp_path / "m") == before  # only weights count
    (tmp_path / "m" / "model.safetensors").write_bytes(b"abd")
    assert weights_hash(tmp_path / "m") != before
    assert weights_hash(tmp_path / "missing") is None and weights_hash(None) is None


def test_split_definition_records_reader_defaults_and_counts(tmp_path):
    from unibind_core.data.benchmarks.spec import BENCHMARKS
    from unibind_core.demo.world import build_dataset
    from unibind_core.stages.data import stage_manifest

    s = Settings(data_root=tmp_path)
    spec = BENCHMARKS["demo_image"]
    build_dataset(spec.demo_writer, s.layout.datasets / spec.root, seed=0, max_per_class=5)
    stage_manifest(s, "demo_image")
    split = split_definition(s, "demo_image")
    assert split["reader"] == "caltech101"
    assert split["options"]["test_fraction"] == 0.3 and split["options"]["eval_fraction"] == 0.1
    assert sum(split["counts"].values()) == 50 and set(split["counts"]) <= {"train", "eval", "test"}
    sets = prompt_sets(s)
    assert sets["templates"]["count"] == 80 and len(sets["templates"]["hash"]) == 32
    assert sets["centres"] == f"centres:k={s.k}:{s.centre_ranking}"
