"""Cross-modal retrieval between paired benchmarks (docs/method.md §5), e.g. Caltech-101 <-> N-Caltech101.

A benchmark whose spec names a `paired_benchmark` records, per sample, the `paired_path` of the sample
it was made from (an N-Caltech101 recording is a conversion of one Caltech-101 image; the demo's event
writer names each recording as the image of the same digit). Pairs are matched by class folder + file
stem, so a suffix that differs between the distributed copies (.jpg / .JPG / .png) cannot break them.
Each direction ranks the whole gallery split (the fixed test split) for each query that has a positive there.
No profile pairs two cross-validated benchmarks (the paired ones, Caltech-101 <-> N-Caltech101 and the demo's
image <-> event, have fixed splits), so there is no per-fold retrieval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np

from unibind_core.evaluation.metrics import (
    RECALL_KS,
    RETRIEVAL_DEFINITION,
    positive_mask,
    recall_metric,
    retrieval_recalls,
)

PAIRING = "paired_path ~ path by class folder + file stem"


def pair_key(path: str) -> str:
    """'101_ObjectCategories/<folder>/<stem>.jpg' -> '<folder>/<stem>'."""
    p = PurePosixPath(path)
    return f"{p.parent.name}/{p.stem}"


def manifest_pairs(paired_paths: Sequence[str | None], paths: Sequence[str]) -> np.ndarray:
    """(P, 2) index pairs (i into `paired_paths`, j into `paths`) of the samples that name each other.

    Several samples may name one partner (and one key may occur twice): every combination is a pair."""
    where: dict[str, list[int]] = {}
    for j, path in enumerate(paths):
        where.setdefault(pair_key(path), []).append(j)
    pairs = [(i, j) for i, pp in enumerate(paired_paths) if pp is not None for j in where.get(pair_key(pp), ())]
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


@dataclass(frozen=True)
class Side:
    """One benchmark's test split: its name, modality and (N, D) unit vectors."""

    benchmark: str
    modality: str
    vectors: np.ndarray


def direction_rows(
    query: Side, gallery: Side, pairs: np.ndarray, setting: str, split: str, ks: Sequence[int] = RECALL_KS
) -> list[dict]:
    """RETRIEVAL rows of one direction: (P, 2) (query, gallery) pairs -> recall@k for each k.

    Queries are the query-side samples with at least one positive; the gallery is the whole split."""
    has = np.unique(pairs[:, 0])
    positives = positive_mask(
        len(has), len(gallery.vectors), np.stack([np.searchsorted(has, pairs[:, 0]), pairs[:, 1]], 1)
    )
    recalls = retrieval_recalls(query.vectors[has], gallery.vectors, positives, ks)
    return [
        {
            "query_benchmark": query.benchmark,
            "gallery_benchmark": gallery.benchmark,
            "query_modality": query.modality,
            "gallery_modality": gallery.modality,
            "setting": setting,
            "metric": str(recall_metric(k)),
            "k": k,
            "recall": recalls[recall_metric(k)],
            "n_queries": len(has),
            "n_gallery": len(gallery.vectors),
            "n_pairs": int(positives.sum()),
            "split": split,
            "pairing": PAIRING,
            "metric_definition": RETRIEVAL_DEFINITION,
        }
        for k in ks
    ]


def both_directions(a: Side, b: Side, pairs: np.ndarray, setting: str, split: str) -> list[dict]:
    """(P, 2) pairs (index into a, index into b) -> rows for b -> a and a -> b."""
    return direction_rows(b, a, pairs[:, ::-1], setting, split) + direction_rows(a, b, pairs, setting, split)
