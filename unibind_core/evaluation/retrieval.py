"""Cross-modal retrieval between paired benchmarks (docs/method.md §5), e.g. Caltech-101 <-> N-Caltech101.

A benchmark whose spec names a `paired_benchmark` records, per sample, the `paired_path` of the sample
it was made from (an N-Caltech101 recording is a conversion of one Caltech-101 image; the demo's event
writer names each recording as the image of the same digit). Pairs are matched by class folder + file
stem, so a suffix that differs between the distributed copies (.jpg / .JPG / .png) cannot break them.
Each direction ranks the whole gallery split for each query that has a positive there. Where both sides
of a pair are cross-validated (protocols.FOLD_PROTOCOLS), each test fold is scored too, through each side's
head of that fold, and the folds' mean reported beside them (docs/method.md §5).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
from unibind_core.storage.tables import Setting, SplitProtocol

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


@dataclass(frozen=True)
class FoldedSide:
    """Every sample of one cross-validated benchmark: (N, D) frozen unit vectors and their (N,) official fold."""

    benchmark: str
    modality: str
    vectors: np.ndarray
    folds: np.ndarray


# (benchmark, test fold, (N, D) frozen features) -> (N, D) through that benchmark's head of that fold
FoldHead = Callable[[str, int, np.ndarray], np.ndarray]


def fold_pairs(
    pairs: np.ndarray, fold_a: np.ndarray, fold_b: np.ndarray, fold: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P, 2) pairs over all samples -> (a's test-fold mask, b's test-fold mask, the pairs with both ends in
    the fold, re-indexed into the masked rows). A pair split across folds is no positive of either."""
    in_a, in_b = fold_a == fold, fold_b == fold
    keep = in_a[pairs[:, 0]] & in_b[pairs[:, 1]]
    new_a, new_b = np.cumsum(in_a) - 1, np.cumsum(in_b) - 1
    return in_a, in_b, np.stack([new_a[pairs[keep, 0]], new_b[pairs[keep, 1]]], 1).reshape(-1, 2)


def cross_validated_rows(
    a: FoldedSide, b: FoldedSide, pairs: np.ndarray, definitions: dict[int, str], head: FoldHead
) -> list[dict]:
    """Both directions on each test fold (zero-shot; fine-tuned through each side's head of that fold), then
    one row per (direction, setting, k) with the mean recall over the folds (fold null; counts summed).

    definitions: test fold -> its split definition; every fold must hold a pair."""
    per_fold: list[dict] = []
    for fold, definition in sorted(definitions.items()):
        in_a, in_b, sub = fold_pairs(pairs, a.folds, b.folds, fold)
        if not len(sub):
            raise ValueError(f"{a.benchmark} <-> {b.benchmark}: no pair has both samples in test fold {fold}")
        xa, xb = a.vectors[in_a], b.vectors[in_b]
        for setting, va, vb in (
            (Setting.ZERO_SHOT, xa, xb),
            (Setting.FINE_TUNED, head(a.benchmark, fold, xa), head(b.benchmark, fold, xb)),
        ):
            rows = both_directions(
                Side(a.benchmark, a.modality, va), Side(b.benchmark, b.modality, vb), sub, str(setting), f"fold {fold}"
            )
            per_fold += [
                {**r, "protocol": str(SplitProtocol.CROSS_VALIDATION), "fold": fold, "split_definition": definition}
                for r in rows
            ]
    return per_fold + fold_means(per_fold)


def fold_means(per_fold: list[dict]) -> list[dict]:
    """Per-fold rows -> one row per (direction, setting, k): the mean recall over the folds, queries, gallery
    items and pairs summed over them, fold null."""
    groups: dict[tuple, list[dict]] = {}
    for r in per_fold:
        groups.setdefault((r["query_benchmark"], r["gallery_benchmark"], r["setting"], r["k"]), []).append(r)
    out = []
    for rows in groups.values():
        folds = ",".join(str(r["fold"]) for r in rows)
        out.append(
            {
                **rows[0],
                "recall": float(np.mean([r["recall"] for r in rows])),
                "fold": None,
                "split": f"mean over folds {folds}",
                "split_definition": f"mean of the recalls of test folds {folds}",
                **{n: sum(r[n] for r in rows) for n in ("n_queries", "n_gallery", "n_pairs")},
            }
        )
    return out
