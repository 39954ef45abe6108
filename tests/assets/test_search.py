"""`unibind search` on the materialized demo's indexes: a text finds its class's images, a sound finds
images of its class above chance (R@5 measured against the hypergeometric chance level)."""

from __future__ import annotations

import json
from math import comb

import numpy as np
from typer.testing import CliRunner

from pipelines.cli import app
from unibind_core.data.benchmarks.build import dataset_root
from unibind_core.data.benchmarks.spec import BENCHMARKS
from unibind_core.stages.common import read_manifest
from unibind_core.stages.index import load_gallery
from unibind_core.use.search import file_query, search_galleries

K = 5


def test_the_index_metadata_holds_its_recall_against_exact(materialized):
    s = materialized[1].settings()
    index, rows, facts = load_gallery(s, "demo_image")
    assert index.ntotal == len(rows) == len(read_manifest(s, "demo_image"))
    assert facts["kind"] == "flat" and facts["recall@10_vs_exact"] == 1.0 and facts["setting"] == "fine-tuned"


def test_text_three_returns_demo_images_of_three(materialized):
    s = materialized[1].settings()
    res = CliRunner().invoke(
        app,
        ["search", "--text", "three", "--benchmark", "demo_image", "-k", str(K), "--format", "json"],
        env={"UNIBIND_DATA_ROOT": str(s.data_root)},
    )
    assert res.exit_code == 0, res.output
    hits = json.loads(res.stdout)
    assert len(hits) == K and [h["rank"] for h in hits] == list(range(K))
    root = dataset_root(BENCHMARKS["demo_image"], s.layout.datasets)
    assert all(h["benchmark"] == "demo_image" and h["path"].startswith(str(root)) for h in hits)
    assert sum(h["class_name"] == "three" for h in hits) >= 3, hits  # chance: 0.5 of 5


def test_a_sound_finds_images_of_its_class_above_chance(materialized):
    s = materialized[1].settings()
    rows = [r for r in read_manifest(s, "demo_audio").to_pylist() if r["split"] == "test"][:60]
    root = dataset_root(BENCHMARKS["demo_audio"], s.layout.datasets)
    query, failures = file_query(s, "demo_audio", [root / r["path"] for r in rows])
    assert not failures
    hits = search_galleries(s, query, ["demo_image"], K).hits.to_pylist()
    gallery = [r["class_name"] for r in read_manifest(s, "demo_image").to_pylist()]
    n, recall, chance = len(gallery), [], []
    for label, row in zip(query.labels, rows):
        mine = [h["class_name"] for h in hits if h["query"] == label]
        assert len(mine) == K
        recall.append(row["class_name"] in mine)
        chance.append(1 - comb(n - gallery.count(row["class_name"]), K) / comb(n, K))
    r5, c5 = float(np.mean(recall)), float(np.mean(chance))
    print(f"sound -> image R@{K} = {r5:.3f} (chance {c5:.3f}, {len(rows)} queries, gallery {n})")
    assert r5 > c5 + 0.2, (r5, c5)
