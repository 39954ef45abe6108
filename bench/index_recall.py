"""Recall of the approximate gallery index against exact search on a synthetic gallery (issue 19).

A clustered gallery (unit vectors around `--clusters` random centres, as embeddings of many classes are)
of `--n` vectors is indexed by `build_index` at its default parameters (IVF-PQ with exact re-ranking above
the exact threshold, or `--kind hnsw`); recall@k of its answers against IndexFlatIP is measured on 1,000
of the gallery's own vectors, with build and search times.

    .venv/bin/python bench/index_recall.py [--n 200000] [--dim 256] [--k 10] [--kind ivfpq]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from unibind_core.use.search_index import IndexConfig, build_index, recall_vs_exact, search


def gallery(n: int, dim: int, clusters: int, spread: float, seed: int = 0) -> np.ndarray:
    """(n, dim) unit vectors: a random centre each plus isotropic noise of std `spread` per dimension."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim)).astype(np.float32)
    x = centres[rng.integers(0, clusters, n)] / np.sqrt(dim) + rng.normal(scale=spread, size=(n, dim)).astype(
        np.float32
    )
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--clusters", type=int, default=1000)
    ap.add_argument("--spread", type=float, default=0.05)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--kind", default="ivfpq")
    args = ap.parse_args()
    x = gallery(args.n, args.dim, args.clusters, args.spread)
    cfg = IndexConfig(kind=args.kind)
    t0 = time.perf_counter()
    index, facts = build_index(x, cfg)
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    search(index, x[:1000], args.k)
    per_query_ms = time.perf_counter() - t0
    recall = recall_vs_exact(index, x, args.k)
    print(
        f"n={args.n} dim={args.dim} index={facts} build {built:.1f}s, 1000 queries {per_query_ms:.2f}s, "
        f"recall@{args.k} vs exact {recall:.4f} ({'ok' if recall >= 0.95 else 'BELOW 0.95'})"
    )


if __name__ == "__main__":
    main()
