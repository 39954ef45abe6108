"""Embedding centre localization (METHOD.md §2): each class keeps a set of K description embeddings.

Selection [ours]: rank a class's description embeddings by inner product with the normalized mean of
the class's *training* data embeddings (FAISS exact inner-product search) and keep the top K. The
label-free variant ranks against the embedding of the seed sentence ("A photo of a {class}") instead.
Centres are stored with an explicit per-class count, never assuming K rows per class.
"""
from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np
import pyarrow as pa

from unibind_core.io import vector_type, vectors_to_arrow

RANKINGS = ("data_mean", "label_free")


@dataclass(frozen=True)
class ClassTexts:
    """One class's candidate descriptions: ids (M,), texts (M,), unit vectors (M, D)."""

    class_index: int
    class_key: str
    ids: list[str]
    texts: list[str]
    vectors: np.ndarray


def normalize(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    if (norms == 0).any():
        raise ValueError("cannot normalize a zero vector")
    return (x / norms).astype(np.float32)


def top_k_inner_product(candidates: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """FAISS exact search: (M, D) candidates, (D,) query -> scores (k,), indices (k,), best first."""
    index = faiss.IndexFlatIP(candidates.shape[1])
    index.add(np.ascontiguousarray(candidates, dtype=np.float32))
    scores, idx = index.search(np.ascontiguousarray(query[None], dtype=np.float32), min(k, len(candidates)))
    return scores[0], idx[0]


def localize_centres(classes: list[ClassTexts], queries: dict[int, np.ndarray], k: int, ranking: str) -> pa.Table:
    """Top-K descriptions per class against its query vector -> CENTRES table (one row per centre)."""
    if ranking not in RANKINGS:
        raise ValueError(f"unknown centre ranking {ranking!r}; use one of {RANKINGS}")
    rows: dict[str, list] = {n: [] for n in ("class_index", "class_key", "rank", "k", "ID", "text", "score")}
    vectors = []
    for cls in classes:
        if len(cls.ids) == 0:
            raise ValueError(f"class {cls.class_key!r} has no descriptions to localize centres from")
        if cls.class_index not in queries:
            raise ValueError(f"class {cls.class_key!r} has no training data to rank its descriptions against")
        scores, idx = top_k_inner_product(cls.vectors, queries[cls.class_index], k)
        kc = len(idx)
        for rank, (s, i) in enumerate(zip(scores, idx)):
            for name, value in zip(rows, (cls.class_index, cls.class_key, rank, kc, cls.ids[i], cls.texts[i], float(s))):
                rows[name].append(value)
        vectors.append(cls.vectors[idx])
    dim = classes[0].vectors.shape[1]
    schema = pa.schema([("class_index", pa.int32()), ("class_key", pa.string()), ("rank", pa.int32()),
                        ("k", pa.int32()), ("ID", pa.string()), ("text", pa.string()), ("score", pa.float32()),
                        ("vector", vector_type(dim))])
    return pa.table({**rows, "vector": vectors_to_arrow(np.concatenate(vectors))}, schema=schema)


def class_queries(vectors: np.ndarray, labels: np.ndarray) -> dict[int, np.ndarray]:
    """Normalized mean data embedding per class: (N, D), (N,) -> {class: (D,)}."""
    return {int(c): normalize(vectors[labels == c].mean(0)) for c in np.unique(labels)}


def predict_with_centres(x: np.ndarray, centres: np.ndarray, centre_class: np.ndarray) -> np.ndarray:
    """METHOD.md §2 [code]: the label of the single most similar centre, argmax_c max_k cos(x, z_c^k).

    x: (N, D) unit vectors; centres: (M, D) unit vectors; centre_class: (M,) -> (N,) predicted classes.
    """
    index = faiss.IndexFlatIP(centres.shape[1])
    index.add(np.ascontiguousarray(centres, dtype=np.float32))
    _, nearest = index.search(np.ascontiguousarray(x, dtype=np.float32), 1)
    return centre_class[nearest[:, 0]]
