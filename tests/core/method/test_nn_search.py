"""Nearest-neighbour search: the GPU request falls back to faiss-cpu here with the same exact answers."""

from __future__ import annotations

import numpy as np
import pytest

from unibind_core.method import nn_search
from unibind_core.method.centres import normalize


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return normalize(rng.normal(size=(200, 16))), normalize(rng.normal(size=(7, 16)))


def test_search_is_exact_top_k_by_inner_product_on_either_path():
    candidates, queries = _data()
    brute = queries @ candidates.T
    expected = np.argsort(-brute, axis=1, kind="stable")[:, :5]
    for gpu in (None, True, False):
        scores, idx = nn_search.search_inner_product(candidates, queries, 5, gpu=gpu)
        np.testing.assert_array_equal(idx, expected)
        np.testing.assert_allclose(scores, np.take_along_axis(brute, expected, 1), atol=1e-5)


def test_without_a_gpu_build_the_index_is_the_cpu_one():
    import faiss

    candidates, _ = _data()
    if nn_search.gpu_available():
        pytest.skip("this machine has GPU FAISS; the fallback is what the other test checks")
    assert type(nn_search.inner_product_index(candidates, gpu=True)) is faiss.IndexFlatIP
    k = nn_search.search_inner_product(candidates[:3], candidates[:1], 50)[1].shape[1]
    assert k == 3  # k is clipped to the candidates


@pytest.mark.gpu
def test_gpu_index_gives_the_cpu_answers():
    candidates, queries = _data(1)
    assert nn_search.gpu_available(), "install the gpu extra (faiss-gpu) on a CUDA machine"
    gpu = nn_search.search_inner_product(candidates, queries, 10, gpu=True)
    cpu = nn_search.search_inner_product(candidates, queries, 10, gpu=False)
    np.testing.assert_array_equal(gpu[1], cpu[1])
    np.testing.assert_allclose(gpu[0], cpu[0], atol=1e-5)
