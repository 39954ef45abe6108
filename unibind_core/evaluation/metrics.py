"""Evaluation metrics with LAION CLIP_benchmark's definitions, from a score matrix (docs/method.md §5).

Classification (clip_benchmark `evaluation/metrics/zeroshot_classification.py`): from (N, C) scores and (N,)
targets, acc@k is the fraction of samples whose target is among the k best-scored classes (acc@5 is
NaN when there are fewer than 5 classes); mean per-class recall is scikit-learn's
`balanced_accuracy_score(target, argmax)`: the recall of each class *present in the targets*,
averaged with equal weight (a class only ever predicted adds nothing).

Retrieval (clip_benchmark `evaluation/metrics/zeroshot_retrieval.py`): from (Q, G) query-gallery scores and the
positive pairs, recall@k is the fraction of queries with at least one positive among their k
best-scored gallery items (CLIP papers' recall, not positives-found / positives). A query with no
positive counts as a miss, as there (0 / 0 is not > 0).

Ties: clip_benchmark ranks with `torch.topk`, whose order among equal scores is unspecified. Here a tie
goes to the lower column index, as `argmax` (clip_benchmark's own prediction for per-class recall)
does, so the metrics are deterministic. A column's rank is then
`#(scores > s) + #(scores == s at a lower index)`: exact, and no sort of the whole row is needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from unibind_core.storage.tables import Metric

RECALL_KS: tuple[int, ...] = (1, 5, 10, 20)  # the paper's and clip_benchmark's retrieval cut-offs
NO_POSITIVE = np.iinfo(np.int64).max  # the rank of a query without positives: never within k
_ROWS_PER_BATCH = 1 << 24  # score-matrix elements per batch: bounds memory at N x C of any size

CLASSIFICATION_DEFINITION = (
    "clip_benchmark zeroshot_classification: acc@k = mean over samples of [target among the top-k scores] "
    "(accuracy(topk)); acc@5 = NaN when C < 5; mean_per_class_recall = sklearn balanced_accuracy_score(target, "
    "argmax), classes present in the targets; ties to the lower class index"
)
RETRIEVAL_DEFINITION = (
    "clip_benchmark zeroshot_retrieval: recall@k = mean over queries of [any positive among the top-k gallery "
    "scores] (recall_at_k > 0); a query without positives is a miss; ties to the lower gallery index"
)


def recall_metric(k: int) -> Metric:
    return Metric(f"recall@{k}")


def target_ranks(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(N, C) scores, (N,) target columns -> (N,) 0-based rank of each target (0: the arg-max)."""
    scores = np.asarray(scores)
    targets = np.asarray(targets, dtype=np.int64)
    if scores.ndim != 2 or len(scores) != len(targets):
        raise ValueError(f"scores {scores.shape} and targets {targets.shape} do not match")
    if len(targets) and (targets.min() < 0 or targets.max() >= scores.shape[1]):
        raise ValueError(f"targets must be class indices in [0, {scores.shape[1]})")
    rows = np.arange(len(targets))
    own = scores[rows, targets][:, None]
    lower = np.arange(scores.shape[1])[None, :] < targets[:, None]
    return ((scores > own) | ((scores == own) & lower)).sum(1)


def accuracy_at_k(ranks: np.ndarray, k: int, n_classes: int) -> float:
    """(N,) target ranks -> acc@k; NaN with no samples or fewer than k classes (clip_benchmark's acc@5)."""
    if len(ranks) == 0 or n_classes < k:
        return float("nan")
    return float((np.asarray(ranks) < k).mean())


def mean_per_class_recall(pred: np.ndarray, targets: np.ndarray) -> float:
    """(N,) predictions, (N,) targets -> the mean over classes present in `targets` of their recall."""
    targets = np.asarray(targets)
    if len(targets) == 0:
        return float("nan")
    classes, inverse = np.unique(targets, return_inverse=True)
    hits = np.bincount(inverse, weights=(np.asarray(pred) == targets), minlength=len(classes))
    return float((hits / np.bincount(inverse, minlength=len(classes))).mean())


def classification_metrics(scores: np.ndarray, targets: np.ndarray) -> dict[Metric, float]:
    """(N, C) scores (logits or cosines), (N,) targets -> acc@1, acc@5, mean per-class recall."""
    scores = np.asarray(scores)
    ranks = target_ranks(scores, targets)
    n_classes = scores.shape[1]
    pred = scores.argmax(1) if len(scores) else np.zeros(0, np.int64)
    return {
        Metric.ACC1: accuracy_at_k(ranks, 1, n_classes),
        Metric.ACC5: accuracy_at_k(ranks, 5, n_classes),
        Metric.MEAN_PER_CLASS_RECALL: mean_per_class_recall(pred, targets),
    }


def first_positive_ranks(scores: np.ndarray, positives: np.ndarray) -> np.ndarray:
    """(Q, G) scores, (Q, G) bool positives -> (Q,) rank of each query's best-ranked positive (NO_POSITIVE:
    none, a miss at every k).

    The best-ranked positive is the highest-scoring one (lowest index on a tie); any positive is in
    the top k exactly when it is."""
    scores, positives = np.asarray(scores), np.asarray(positives, dtype=bool)
    if scores.shape != positives.shape:
        raise ValueError(f"scores {scores.shape} and positives {positives.shape} do not match")
    has = positives.any(1)
    best = np.where(positives, scores, -np.inf).argmax(1)  # first maximum: lowest index on a tie
    ranks = target_ranks(scores, best)
    return np.where(has, ranks, NO_POSITIVE)


def positive_mask(n_queries: int, n_gallery: int, pairs: np.ndarray | Iterable[tuple[int, int]]) -> np.ndarray:
    """(P, 2) (query, gallery) index pairs (duplicates allowed) -> (Q, G) bool positives."""
    mask = np.zeros((n_queries, n_gallery), dtype=bool)
    pairs = np.asarray(pairs if isinstance(pairs, np.ndarray) else list(pairs), dtype=np.int64).reshape(-1, 2)
    mask[pairs[:, 0], pairs[:, 1]] = True
    return mask


def retrieval_recalls(
    query: np.ndarray, gallery: np.ndarray, positives: np.ndarray, ks: Sequence[int] = RECALL_KS
) -> dict[Metric, float]:
    """(Q, D) and (G, D) unit vectors, (Q, G) bool positives -> recall@k for each k (cosine scores).

    Scored in query batches, so a large gallery never needs the whole (Q, G) matrix of floats at once.
    k at or above the gallery size keeps every item (clip_benchmark's torch.topk would refuse it)."""
    if len(query) == 0:
        return {recall_metric(k): float("nan") for k in ks}
    step = max(1, _ROWS_PER_BATCH // max(1, len(gallery)))
    ranks = np.concatenate(
        [
            first_positive_ranks(query[i : i + step] @ gallery.T, positives[i : i + step])
            for i in range(0, len(query), step)
        ]
    )
    return {recall_metric(k): float((ranks < k).mean()) for k in ks}
