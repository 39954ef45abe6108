"""Embedding centre localization (docs/method.md §3): each class keeps a set of K description embeddings.

A ranking strategy (CENTRE_RANKINGS, chosen by `Settings.centre_ranking`) builds one query vector per
class; the class's description embeddings are ranked by inner product with it (FAISS exact search) and
the top K kept. `data_mean` [ours] queries with the normalized mean of the class's *training* features;
`label_free` with the embedding of the single template ("a photo of a {class}."). Centres are stored
with an explicit per-class count, never assuming K rows per class.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyarrow as pa

from unibind_core.core.registry import Registry
from unibind_core.method.nn_search import search_inner_product
from unibind_core.storage.tables import CENTRES, RowKind


@dataclass(frozen=True)
class ClassTexts:
    """One class's candidate descriptions: ids (M,), texts (M,), unit vectors (M, D)."""

    class_index: int
    class_key: str
    ids: list[str]
    texts: list[str]
    vectors: np.ndarray


class RankingInputs(Protocol):
    """What a ranking strategy may ask for; the stage reads each only when asked."""

    class_index: dict[str, int]  # class key -> class index

    def train_features(self) -> tuple[np.ndarray, np.ndarray]:
        """(N, D) frozen training-split features and their (N,) class indices."""
        ...

    def prompt_vectors(self, kind: RowKind) -> tuple[list[str], np.ndarray]:
        """Class keys (R,) and (R, D) text embeddings of the rows of one kind."""
        ...


Ranking = Callable[[RankingInputs], dict[int, np.ndarray]]  # -> {class index: (D,) query}


def normalize(x: np.ndarray) -> np.ndarray:
    """Unit rows in float32; float16 rows (head inputs held in half precision) are normed in float32."""
    if x.dtype == np.float16:
        x = x.astype(np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    if (norms == 0).any():
        raise ValueError("cannot normalize a zero vector")
    return (x / norms).astype(np.float32)


def class_queries(vectors: np.ndarray, labels: np.ndarray) -> dict[int, np.ndarray]:
    """Normalized mean data embedding per class: (N, D), (N,) -> {class: (D,)}."""
    return {int(c): normalize(vectors[labels == c].mean(0)) for c in np.unique(labels)}


def data_mean_queries(inputs: RankingInputs) -> dict[int, np.ndarray]:
    """[ours] Rank against the normalized mean of the class's training features (never test data)."""
    return class_queries(*inputs.train_features())


def label_free_queries(inputs: RankingInputs) -> dict[int, np.ndarray]:
    """Rank against the class's single-template embedding: no data is looked at."""
    keys, vectors = inputs.prompt_vectors(RowKind.SINGLE_TEMPLATE)
    return {inputs.class_index[k]: v for k, v in zip(keys, vectors)}


CENTRE_RANKINGS: Registry[Ranking] = Registry(
    "centre ranking", {"data_mean": data_mean_queries, "label_free": label_free_queries}
)


def top_k_inner_product(candidates: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """FAISS exact search (method/nn_search.py: GPU when available): (M, D) candidates, (D,) query -> scores (k,),
    indices (k,), best first."""
    scores, idx = search_inner_product(candidates, query[None], k)
    return scores[0], idx[0]


def localize_centres(classes: Iterable[ClassTexts], queries: dict[int, np.ndarray], k: int) -> pa.Table:
    """Top-K descriptions per class against its query vector -> CENTRES table (one row per centre).

    `classes` may be a stream (one class's vectors in memory at a time); only the K kept are retained."""
    rows: dict[str, list] = {n: [] for n in ("class_index", "class_key", "rank", "k", "ID", "text", "score")}
    vectors = []
    for cls in classes:
        if len(cls.ids) == 0:
            raise ValueError(f"class {cls.class_key!r} has no descriptions to localize centres from")
        if cls.class_index not in queries:
            raise ValueError(
                f"class {cls.class_key!r} has no training data to rank its descriptions against (a copy "
                "holding some classes of a shipped list: give the reader a class-list file of those "
                "classes, reader_options classnames=<file>, or rank label-free: centre_ranking=label_free)"
            )
        scores, idx = top_k_inner_product(cls.vectors, queries[cls.class_index], k)
        kc = len(idx)
        for rank, (s, i) in enumerate(zip(scores, idx)):
            for name, value in zip(
                rows, (cls.class_index, cls.class_key, rank, kc, cls.ids[i], cls.texts[i], float(s))
            ):
                rows[name].append(value)
        vectors.append(cls.vectors[idx])
    if not vectors:
        raise ValueError("no class has descriptions to localize centres from")
    return CENTRES.table(rows, np.concatenate(vectors))


def predict_with_centres(x: np.ndarray, centres: np.ndarray, centre_class: np.ndarray) -> np.ndarray:
    """[code] The label of the single most similar centre, argmax_c max_k cos(x, z_c^k).

    x: (N, D) unit vectors; centres: (M, D) unit vectors; centre_class: (M,) -> (N,) predicted classes.
    """
    _, nearest = search_inner_product(centres, x, 1)
    return centre_class[nearest[:, 0]]
