"""Image <-> event retrieval: pairs from the manifests, recall@k both ways, zero-shot and through the heads."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import pytest
import torch
from safetensors.torch import save_file

from unibind_core.core.settings import Settings
from unibind_core.evaluation.retrieval import Side, direction_rows, manifest_pairs, pair_key
from unibind_core.method.aligners.loop import make_head
from unibind_core.method.centres import normalize
from unibind_core.storage.tables import FEATURES, RETRIEVAL, Split


def test_pairs_match_class_folder_and_stem_whatever_the_suffix():
    paired = [
        "101_ObjectCategories/ant/image_0001.jpg",
        None,
        "101_ObjectCategories/bee/image_0002.jpg",
        "101_ObjectCategories/ant/image_0009.jpg",
    ]
    paths = [
        "101_ObjectCategories/bee/image_0002.JPG",
        "101_ObjectCategories/ant/image_0001.png",
        "101_ObjectCategories/bee/image_0001.jpg",
        "other/ant/image_0001.jpg",
    ]
    assert pair_key(paths[1]) == "ant/image_0001"
    # event 0 names two copies of ant/image_0001 (both are positives); 1 names nothing; 3's image is absent
    assert manifest_pairs(paired, paths).tolist() == [[0, 1], [0, 3], [2, 0]]


def test_direction_rows_rank_the_whole_gallery_for_queries_with_a_positive():
    q = Side("q", "event", np.eye(3, dtype=np.float32))
    g = Side("g", "image", normalize(np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 0, 1], [0, 1, 0]], np.float32)))
    pairs = np.array([[0, 1], [2, 2]])  # query 1 has no positive: not a query
    rows = {r["k"]: r for r in direction_rows(q, g, pairs, "zero-shot", "test")}
    assert rows[1]["recall"] == pytest.approx(0.5)  # query 0's best is gallery 0, its positive is 2nd
    assert rows[5]["recall"] == pytest.approx(1.0)
    assert (rows[1]["n_queries"], rows[1]["n_gallery"], rows[1]["n_pairs"]) == (2, 4, 2)
    assert rows[1]["metric"] == "recall@1" and "any positive" in rows[1]["metric_definition"]


def _demo_pair(tmp_path) -> Settings:
    """The demo's image and event datasets (6 digits a class) with their manifests."""
    from unibind_core.data.benchmarks.spec import BENCHMARKS
    from unibind_core.demo.world import build_dataset
    from unibind_core.stages.data import stage_manifest

    s = Settings(data_root=tmp_path)
    for bench in ("demo_image", "demo_event"):
        spec = BENCHMARKS[bench]
        build_dataset(spec.demo_writer, s.layout.datasets / spec.root, seed=0, max_per_class=6)
        stage_manifest(s, bench)
    return s


def _write_features(s: Settings, bench: str, vectors_of: dict[str, np.ndarray]) -> None:
    from unibind_core.stages.common import read_manifest

    m = read_manifest(s, bench)
    ids = m["sample_id"].to_pylist()
    FEATURES.write(
        FEATURES.table(
            {"sample_id": ids, "split": m["split"].to_pylist(), "class_index": m["class_index"].to_pylist()},
            np.stack([vectors_of[i] for i in ids]),
        ),
        s.layout.features(bench),
    )


def _write_head(s: Settings, bench: str, weight: np.ndarray) -> None:
    head = make_head(len(weight), identity_init=True)
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(weight))
    s.layout.head(bench).parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in head.state_dict().items()}, str(s.layout.head(bench)))


def test_demo_retrieval_pairs_each_recording_with_its_image_and_applies_each_head(tmp_path):
    from unibind_core.stages.evaluation import FIXED_SPLIT
    from unibind_core.stages.retrieval import retrieval_pairs, stage_retrieval

    s = _demo_pair(tmp_path)
    assert retrieval_pairs(["demo_image", "demo_event", "demo_audio"]) == [("demo_event", "demo_image")]
    from unibind_core.stages.common import read_manifest

    ids = read_manifest(s, "demo_image")["sample_id"].to_pylist()
    rng = np.random.default_rng(0)
    dim = 32
    image = {i: v for i, v in zip(ids, normalize(rng.normal(size=(len(ids), dim))))}
    # each recording near its own image: retrievable exactly when pairing is right
    event = {i: normalize(image[i] + 0.05 * rng.normal(size=dim)) for i in ids}
    _write_features(s, "demo_image", image)
    _write_features(s, "demo_event", event)
    _write_head(s, "demo_image", np.eye(dim, dtype=np.float32))
    rotation = np.linalg.qr(rng.normal(size=(dim, dim)))[0].astype(np.float32)  # event head scrambles the pairing
    _write_head(s, "demo_event", rotation)

    res = stage_retrieval(s, ["demo_image", "demo_event"])
    rows = RETRIEVAL.read(s.layout.retrieval).to_pylist()
    n_test = pc.sum(pc.equal(read_manifest(s, "demo_event")["split"], str(Split.TEST))).as_py()
    assert len(rows) == 2 * 2 * 4 == res.row_count  # 2 directions x 2 settings x 4 k
    by = {(r["query_modality"], r["setting"], r["k"]): r for r in rows}
    for direction in ("image", "event"):
        zs, ft = by[(direction, "zero-shot", 1)], by[(direction, "fine-tuned", 1)]
        assert zs["recall"] == 1.0 and zs["n_queries"] == zs["n_gallery"] == zs["n_pairs"] == n_test
        assert ft["recall"] < 0.5  # one side rotated: the pairs no longer line up
    assert res.metrics["demo_event->demo_image/zero-shot/recall@1"] == 1.0
    assert {(r["protocol"], r["fold"], r["split_definition"]) for r in rows} == {("fixed", None, FIXED_SPLIT)}
    assert stage_retrieval(s, ["demo_image"]).row_count == 0  # no pair in the profile: an empty table
