"""Exact inner-product nearest neighbours through one helper: a FAISS GPU index when the `faiss-gpu` build
and a GPU are present, else faiss-cpu's IndexFlatIP, with the same results (both exact, float32).

Centre selection and centre prediction (method/centres.py) search here; install the `gpu` extra
(`pip install unibind[gpu]`, faiss-gpu in place of faiss-cpu) to move them onto the GPU.
"""

from __future__ import annotations

import faiss
import numpy as np


def gpu_available() -> bool:
    """True when this faiss build has GPU support and sees at least one GPU."""
    return hasattr(faiss, "StandardGpuResources") and getattr(faiss, "get_num_gpus", lambda: 0)() > 0


_RESOURCES: list = []  # one StandardGpuResources per process (it holds scratch memory)


def inner_product_index(candidates: np.ndarray, gpu: bool | None = None) -> faiss.Index:
    """(M, D) float32 candidates in an exact inner-product index; gpu None: on the GPU when available,
    True: on the GPU if possible (falls back to the CPU index otherwise), False: on the CPU."""
    index = faiss.IndexFlatIP(candidates.shape[1])
    if (gpu is None or gpu) and gpu_available():
        if not _RESOURCES:
            _RESOURCES.append(faiss.StandardGpuResources())
        index = faiss.index_cpu_to_gpu(_RESOURCES[0], 0, index)
    index.add(np.ascontiguousarray(candidates, dtype=np.float32))
    return index


def search_inner_product(
    candidates: np.ndarray, queries: np.ndarray, k: int, gpu: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(M, D) candidates, (N, D) queries -> scores (N, k'), indices (N, k'), best first; k' = min(k, M).
    GPU FAISS answers at most k = 2048 per query, so larger k uses the CPU index."""
    k = min(k, len(candidates))
    index = inner_product_index(candidates, gpu if k <= 2048 else False)
    return index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
