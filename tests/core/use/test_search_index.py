"""Gallery indexes: exact below the threshold, approximate above it with its recall against exact measured."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from unibind_core.method.nn_search import search_inner_product
from unibind_core.use.search_index import IndexConfig, build_index, recall_vs_exact, search


@pytest.fixture(autouse=True)
def _one_thread():
    """FAISS's OpenMP threads only contend on a shared CI machine for galleries this small."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


def _clustered(n=2000, dim=16, clusters=40, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(clusters, dim)).astype(np.float32)
    x = c[rng.integers(0, clusters, n)] / np.sqrt(dim) + rng.normal(scale=0.05, size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_small_gallery_is_exact_and_answers_as_flat_search():
    x = _clustered(500)
    index, facts = build_index(x, IndexConfig(exact_below=1000))
    assert facts == {"kind": "flat", "exact": True}
    scores, rows = search(index, x[:7], 5)
    ref_scores, ref_rows = search_inner_product(x, x[:7], 5)
    np.testing.assert_array_equal(rows, ref_rows)
    assert recall_vs_exact(index, x, 10) == 1.0


@pytest.mark.parametrize("kind", ["ivfpq", "hnsw"])
def test_large_gallery_is_approximate_with_high_recall(kind):
    x = _clustered()
    index, facts = build_index(x, IndexConfig(exact_below=1000, kind=kind, nprobe=16))
    assert facts["kind"] == kind and facts["exact"] is False
    if kind == "ivfpq":
        assert facts["nlist"] == int(4 * np.sqrt(len(x))) and 16 % facts["pq_bytes"] == 0
    recall = recall_vs_exact(index, x, 10, queries=200)
    assert 0.9 <= recall <= 1.0, recall
    if kind == "ivfpq":  # the parameters matter: one cell and 2-byte codes without re-ranking lose neighbours
        weak = build_index(x, IndexConfig(exact_below=1000, nlist=32, nprobe=1, refine=1, pq_bytes=2))[0]
        assert recall_vs_exact(weak, x, 10, queries=200) < recall


def test_bad_index_options_are_named():
    with pytest.raises(ValueError, match="index kind must be ivfpq or hnsw"):
        IndexConfig(kind="lsh")
    with pytest.raises(ValueError, match="index option nprobe must be at least 1"):
        IndexConfig(nprobe=0)
