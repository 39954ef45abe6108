"""clip_benchmark's metric definitions: hand-computed cases, then its own functions where it imports."""

from __future__ import annotations

import numpy as np
import pytest

from unibind_core.evaluation.metrics import (
    NO_POSITIVE,
    classification_metrics,
    first_positive_ranks,
    mean_per_class_recall,
    positive_mask,
    retrieval_recalls,
    target_ranks,
)
from unibind_core.storage.tables import Metric


def test_top_k_by_hand_with_a_tie_going_to_the_lower_class():
    scores = np.array(
        [
            [0.1, 0.9, 0.0, 0.3, 0.2, 0.5],  # target 3: ranks after 1 and 5 -> rank 2
            [0.5, 0.5, 0.1, 0.0, 0.0, 0.0],  # target 1 ties with class 0, which wins -> rank 1
            [0.5, 0.5, 0.1, 0.0, 0.0, 0.0],  # target 0 wins the tie -> rank 0
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        ]
    )  # all tied, target 5 -> rank 5: outside the top 5
    targets = np.array([3, 1, 0, 5])
    assert target_ranks(scores, targets).tolist() == [2, 1, 0, 5]
    m = classification_metrics(scores, targets)
    assert m[Metric.ACC1] == pytest.approx(1 / 4)
    assert m[Metric.ACC5] == pytest.approx(3 / 4)
    # argmax per row: 1, 0, 0, 0 -> class 3: 0/1, class 1: 0/1, class 0: 1/1, class 5: 0/1
    assert m[Metric.MEAN_PER_CLASS_RECALL] == pytest.approx(1 / 4)


def test_fewer_than_five_classes_gives_nan_acc5_but_acc1_and_recall():
    scores = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1]])
    m = classification_metrics(scores, np.array([0, 1, 1]))
    assert np.isnan(m[Metric.ACC5])
    assert m[Metric.ACC1] == pytest.approx(2 / 3)
    assert m[Metric.MEAN_PER_CLASS_RECALL] == pytest.approx((1 + 0.5) / 2)


def test_per_class_recall_averages_only_the_classes_present_in_the_targets():
    # class 2 is never a target but is predicted: it must not enter the average (sklearn drops it too)
    y = np.array([0, 0, 0, 0, 1])
    pred = np.array([0, 0, 2, 2, 1])
    assert mean_per_class_recall(pred, y) == pytest.approx((2 / 4 + 1) / 2)
    assert mean_per_class_recall(pred, y) != pytest.approx((pred == y).mean())  # not plain accuracy


def test_empty_targets_give_nan_and_bad_targets_are_refused():
    m = classification_metrics(np.zeros((0, 7)), np.zeros(0, np.int64))
    assert all(np.isnan(v) for v in m.values())
    with pytest.raises(ValueError, match="class indices"):
        target_ranks(np.zeros((2, 3)), np.array([0, 3]))


def test_retrieval_hit_when_any_positive_is_in_the_top_k_with_duplicates():
    scores = np.array(
        [
            [0.9, 0.8, 0.7, 0.1],  # positives 2 and 3: best is 2 at rank 2
            [0.1, 0.2, 0.3, 0.4],  # positive 0 at rank 3
            [0.5, 0.5, 0.5, 0.5],  # positive 1 ties with 0, which wins -> rank 1
            [0.9, 0.1, 0.1, 0.1],
        ]
    )  # no positive: a miss at every k, even k >= G
    pairs = [(0, 3), (0, 2), (0, 2), (1, 0), (2, 1)]  # (0, 2) listed twice: still one positive
    mask = positive_mask(4, 4, pairs)
    assert mask.sum() == 4
    assert first_positive_ranks(scores, mask).tolist() == [2, 3, 1, NO_POSITIVE]
    q, g = np.eye(4, dtype=np.float32), scores.T.astype(np.float32)  # q @ g.T == scores
    r = retrieval_recalls(q, g, mask)
    assert r[Metric.RECALL_AT_1] == 0.0
    assert r[Metric.RECALL_AT_5] == r[Metric.RECALL_AT_20] == pytest.approx(3 / 4)  # k >= G: every positive found
    with pytest.raises(ValueError):
        retrieval_recalls(q, g, mask, ks=(2,))  # only the reported cut-offs are metrics


def test_retrieval_is_the_same_in_batches(monkeypatch):
    import unibind_core.evaluation.metrics as metrics

    rng = np.random.default_rng(0)
    q, g = rng.normal(size=(37, 8)), rng.normal(size=(29, 8))
    mask = positive_mask(37, 29, [(i, i % 29) for i in range(37)])
    whole = retrieval_recalls(q, g, mask)
    monkeypatch.setattr(metrics, "_ROWS_PER_BATCH", 29 * 5)  # five queries per batch
    assert retrieval_recalls(q, g, mask) == whole


# --- against clip_benchmark's own functions (and sklearn, which it calls) on tie-free random scores ---


def _random_case(seed: int, n: int = 200, c: int = 12):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, c)).astype(np.float32), rng.integers(0, c, n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_per_class_recall_equals_sklearn_balanced_accuracy(seed):
    from sklearn.metrics import balanced_accuracy_score

    scores, y = _random_case(seed)
    y[y == 3] = 4  # class 3 absent from the targets, still predicted sometimes
    with pytest.warns(UserWarning) if (scores.argmax(1) == 3).any() else _nothing():
        expected = balanced_accuracy_score(y, scores.argmax(1))
    assert classification_metrics(scores, y)[Metric.MEAN_PER_CLASS_RECALL] == pytest.approx(expected)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("seed", [0, 1])
def test_top_k_equals_clip_benchmark_accuracy(seed):
    zs = pytest.importorskip(
        "clip_benchmark.metrics.zeroshot_classification",
        reason="clip_benchmark is not installed (pip install clip-benchmark --no-deps)",
    )
    import torch

    scores, y = _random_case(seed)
    try:
        acc1, acc5 = zs.accuracy(torch.from_numpy(scores), torch.from_numpy(y), topk=(1, 5))
    except TypeError as exc:  # float() of a 1-element array: numpy >= 2.4 (LAION-AI/CLIP_benchmark#147)
        pytest.skip(f"clip_benchmark accuracy() breaks on numpy {np.__version__} (CLIP_benchmark#147): {exc}")
    m = classification_metrics(scores, y)
    assert (m[Metric.ACC1], m[Metric.ACC5]) == pytest.approx((acc1, acc5))


def test_top_k_equals_torch_topk_membership():
    """clip_benchmark's accuracy() is `target in torch.topk(scores, k)`: check that rule directly too,
    since accuracy() itself may not run on this numpy."""
    import torch

    scores, y = _random_case(5, n=300, c=40)
    top5 = torch.topk(torch.from_numpy(scores), 5, dim=1).indices.numpy()
    m = classification_metrics(scores, y)
    assert m[Metric.ACC5] == pytest.approx((top5 == y[:, None]).any(1).mean())
    assert m[Metric.ACC1] == pytest.approx((top5[:, 0] == y).mean())


@pytest.mark.parametrize("k", [1, 5, 10, 20])
def test_retrieval_equals_clip_benchmark_recall_at_k(k):
    zr = pytest.importorskip(
        "clip_benchmark.metrics.zeroshot_retrieval",
        reason="clip_benchmark is not installed (pip install clip-benchmark --no-deps)",
    )
    import torch

    rng = np.random.default_rng(k)
    n_img, n_txt = 40, 90
    img, txt = rng.normal(size=(n_img, 16)).astype(np.float32), rng.normal(size=(n_txt, 16)).astype(np.float32)
    txt_image = rng.integers(0, n_img, n_txt)  # each text has one image; an image may have several texts
    mask = positive_mask(n_txt, n_img, zip(range(n_txt), txt_image))
    scores = torch.from_numpy(txt @ img.T)
    positives = torch.from_numpy(mask)
    theirs_i = (zr.batchify(zr.recall_at_k, scores, positives, 16, "cpu", k=k) > 0).float().mean().item()
    theirs_t = (zr.batchify(zr.recall_at_k, scores.T, positives.T, 16, "cpu", k=k) > 0).float().mean().item()
    assert retrieval_recalls(txt, img, mask, ks=(k,))[Metric(f"recall@{k}")] == pytest.approx(theirs_i)
    assert retrieval_recalls(img, txt, mask.T, ks=(k,))[Metric(f"recall@{k}")] == pytest.approx(theirs_t)
