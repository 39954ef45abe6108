"""FAISS indexes over a benchmark's stored features, for `unibind search` (README, "Use what it learned").

Below `exact_below` vectors the index is exact (IndexFlatIP, the reference); above it approximate: IVF-PQ
whose candidates are re-ranked by exact inner product (IndexRefineFlat), or HNSW. Its recall against exact
search is measured on a sample of the gallery's own vectors when it is built and kept in its metadata.
On the GPU when the faiss-gpu build sees one (IVF-PQ and flat; HNSW is CPU-only in FAISS).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import faiss
import numpy as np

from unibind_core.core.options import option
from unibind_core.method.nn_search import _RESOURCES, gpu_available, search_inner_product


@dataclass(frozen=True)
class IndexConfig:
    """How a gallery is indexed; defaults give recall@10 >= 0.95 against exact on 200k clustered vectors
    (bench/index_recall.py)."""

    exact_below: int = option(50_000, "galleries with fewer vectors are searched exactly (IndexFlatIP)")
    kind: str = option("ivfpq", "approximate index above the threshold: ivfpq (re-ranked exactly) or hnsw")
    nlist: int | None = option(None, "IVF cells (None: 4 * sqrt(N))")
    nprobe: int = option(32, "IVF cells visited per query")
    pq_bytes: int | None = option(None, "PQ code bytes per vector (None: D / 4, a divisor of D)")
    refine: int = option(4, "IVF-PQ: re-rank k * refine candidates by exact inner product")
    hnsw_m: int = option(32, "HNSW neighbours per node")
    ef_search: int = option(128, "HNSW search breadth")

    def __post_init__(self) -> None:
        if self.kind not in ("ivfpq", "hnsw"):
            raise ValueError(f"index kind must be ivfpq or hnsw, got {self.kind!r}")
        for name in ("exact_below", "nprobe", "refine", "hnsw_m", "ef_search"):
            if getattr(self, name) < 1:
                raise ValueError(f"index option {name} must be at least 1, got {getattr(self, name)}")


def _pq_bytes(dim: int, wanted: int | None) -> int:
    """The largest divisor of `dim` not above the wanted code size (D / 4 by default)."""
    target = max(1, wanted or dim // 4)
    return max(m for m in range(1, min(dim, target) + 1) if dim % m == 0)


def build_index(vectors: np.ndarray, cfg: IndexConfig | None = None, seed: int = 0) -> tuple[faiss.Index, dict]:
    """(N, D) unit vectors -> (CPU index, facts: kind and parameters); approximate kinds are trained on a
    seeded sample of the vectors themselves. `on_device` moves it to the GPU for searching."""
    cfg = cfg or IndexConfig()
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = x.shape
    if n < cfg.exact_below:
        index = faiss.IndexFlatIP(dim)
        facts = {"kind": "flat", "exact": True}
    elif cfg.kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, cfg.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = cfg.ef_search
        facts = {"kind": "hnsw", "exact": False, "hnsw_m": cfg.hnsw_m, "ef_search": cfg.ef_search}
    else:
        nlist = cfg.nlist or max(1, int(4 * math.sqrt(n)))
        m = _pq_bytes(dim, cfg.pq_bytes)
        quantizer = faiss.IndexFlatIP(dim)
        ivf = faiss.IndexIVFPQ(quantizer, dim, nlist, m, 8, faiss.METRIC_INNER_PRODUCT)
        sample = x[np.random.default_rng(seed).choice(n, min(n, 64 * nlist), replace=False)]
        ivf.train(sample)
        ivf.nprobe = min(cfg.nprobe, nlist)
        index = faiss.IndexRefineFlat(ivf)
        index.k_factor = float(cfg.refine)
        facts = {
            "kind": "ivfpq",
            "exact": False,
            "nlist": nlist,
            "nprobe": ivf.nprobe,
            "pq_bytes": m,
            "refine": cfg.refine,
        }
    index.add(x)
    return index, facts


def on_device(index: faiss.Index, gpu: bool | None = None) -> faiss.Index:
    """The index on the GPU when asked (None: when available) and this kind moves there, else as it is
    (HNSW and the refine wrapper stay on the CPU, which answers the same); the device option decides."""
    if gpu is False or not gpu_available():
        return index
    if not _RESOURCES:
        _RESOURCES.append(faiss.StandardGpuResources())
    try:
        return faiss.index_cpu_to_gpu(_RESOURCES[0], 0, index)
    except RuntimeError:
        return index


def search(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(Q, D) queries -> ((Q, k') scores, (Q, k') gallery rows), best first; k' = min(k, N)."""
    return index.search(np.ascontiguousarray(queries, dtype=np.float32), min(k, index.ntotal))


def recall_vs_exact(index: faiss.Index, vectors: np.ndarray, k: int = 10, queries: int = 1000, seed: int = 0) -> float:
    """Mean fraction of the exact top-k that the index returns, for a seeded sample of the gallery's own
    vectors as queries (1.0 for an exact index)."""
    rng = np.random.default_rng(seed)
    q = vectors[rng.choice(len(vectors), min(queries, len(vectors)), replace=False)]
    _, exact = search_inner_product(vectors, q, k)
    _, found = search(index, q, k)
    return float(np.mean([len(set(a) & set(b)) / len(a) for a, b in zip(exact.tolist(), found.tolist())]))


def config_record(cfg: IndexConfig) -> dict:
    return asdict(cfg)
