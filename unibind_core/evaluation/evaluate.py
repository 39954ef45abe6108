"""Per-benchmark evaluation (docs/method.md §5): one feature set under several classifiers.

Classifiers: CLIP templates (80, averaged and re-normalized), a single template, UniBind centres
(arg-max over all C x K centres); each on frozen features (zero-shot) and on fine-tuned head features.
Each classifier also gives an (N, C) score matrix, so the clip_benchmark metrics (acc@1, acc@5, mean
per-class recall; unibind_core/evaluation/metrics.py) apply to all three: a class's centre score is
max_k cos(x, z_c^k), whose arg-max is the centres' top-1 rule.

One product per feature set and classifier: `centre_scores` multiplies row blocks of the features by the
(class-sorted) centres in float32 BLAS and reduces each block to its per-class maxima at once, so no
(N, M) test x centres matrix exists, and `evaluate` takes the centres' top-1 (the nearest centre's class) from
those scores instead of searching the same product again with FAISS. Blocks are at least `_MIN_BLOCK_ROWS` rows:
skinnier products run OpenBLAS well below its sgemm rate (bench/table_scale.py prints both). With `device`
resolving to CUDA the same pass runs in torch on the GPU (float32, TF32 off: the CPU's figures), the centres
laid out as (C, K_max) with a short class padded by repeats of one of its rows, so the class-max is one `amax`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from unibind_core.core.torch_setup import exact_float32, resolve_device
from unibind_core.evaluation.metrics import CLASSIFICATION_DEFINITION, classification_metrics
from unibind_core.method.centres import normalize, predict_with_centres
from unibind_core.storage.tables import Classifier, Metric, Setting

_SCORES_PER_BATCH = 1 << 22  # (rows x centres) similarities computed at once (16 MiB) when that is >= _MIN_BLOCK_ROWS
_MIN_BLOCK_ROWS = 512  # 512 x 50,000 centres: 100 MiB, and ~88 % of sgemm (83-row blocks ran at ~63 %)


@dataclass(frozen=True)
class Classifiers:
    templates: np.ndarray  # (C, D): mean of the 80 template embeddings per class, re-normalized
    single_template: np.ndarray  # (C, D)
    centres: np.ndarray  # (M, D)
    centre_class: np.ndarray  # (M,)
    device: str = "cpu"  # where the products run: cpu (numpy BLAS), cuda[:N] (torch), auto

    def predict(self, x: np.ndarray, which: Classifier, scores: np.ndarray | None = None) -> np.ndarray:
        """(N, D) unit vectors -> (N,) predicted class indices: the arg-max of the (N, C) class scores, reused
        when given. For centres that is the label of the nearest centre (the reference rule); without scores
        it is found by FAISS (predict_with_centres), which needs no (N, C) matrix."""
        if scores is not None:
            return scores.argmax(1)
        if which is Classifier.CENTRES:
            return predict_with_centres(x, self.centres, self.centre_class)
        return self.scores(x, which).argmax(1)

    @property
    def n_classes(self) -> int:
        return len(self.templates)

    def scores(self, x: np.ndarray, which: Classifier) -> np.ndarray:
        """(N, D) unit vectors -> (N, C) class scores: cosines to the class vectors, or for centres
        each class's best centre, max_k cos(x, z_c^k) (-inf for a class without centres)."""
        device = resolve_device(self.device)
        if which is not Classifier.CENTRES:
            weights = self.templates if which is Classifier.TEMPLATES else self.single_template
            if device.type != "cpu":
                return _torch_scores(x, weights, device)
            return np.ascontiguousarray(x, np.float32) @ weights.T
        if device.type != "cpu":
            return _class_max_torch(x, *self._sorted_centres, self.n_classes, device)
        return _class_max(x, *self._sorted_centres, self.n_classes)

    @cached_property
    def _sorted_centres(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Centres sorted by class ((M, D) float32), the class of each run of them and each run's first row:
        computed once per Classifiers, reused by every feature set scored against it."""
        return _sort_by_class(self.centres, self.centre_class)


def centre_scores(x: np.ndarray, centres: np.ndarray, centre_class: np.ndarray, n_classes: int) -> np.ndarray:
    """(N, D) unit vectors, (M, D) centres of (M,) classes -> (N, C) per-class max cosine (-inf for a class
    without centres), in row blocks: memory O(N x C + block x M), never (N, M)."""
    return _class_max(x, *_sort_by_class(centres, centre_class), n_classes)


def _sort_by_class(centres: np.ndarray, centre_class: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """-> ((M, D) float32 centres sorted by class, (R,) class of each run, (R,) first row of each run)."""
    order = np.argsort(centre_class, kind="stable")
    cls = centre_class[order]
    starts = np.flatnonzero(np.r_[True, cls[1:] != cls[:-1]]) if len(cls) else np.zeros(0, np.int64)
    return np.ascontiguousarray(centres[order], np.float32), cls[starts], starts


def _class_max(
    x: np.ndarray, sorted_centres: np.ndarray, run_class: np.ndarray, starts: np.ndarray, n_classes: int
) -> np.ndarray:
    """The fused pass: per block of rows one float32 GEMM into a reused (block, M) buffer, reduced at once to
    the (block, C) per-class maxima (np.maximum.reduceat over the class runs)."""
    x = np.ascontiguousarray(x, np.float32)
    out = np.full((len(x), n_classes), -np.inf, np.float32)
    if not len(sorted_centres):
        return out
    step = max(_MIN_BLOCK_ROWS, _SCORES_PER_BATCH // len(sorted_centres))
    buf = np.empty((min(step, len(x)), len(sorted_centres)), np.float32)
    for i in range(0, len(x), step):
        block = x[i : i + step]
        sims = np.matmul(block, sorted_centres.T, out=buf[: len(block)])
        out[i : i + len(block), run_class] = np.maximum.reduceat(sims, starts, axis=1)
    return out


def _gpu_tensor(a: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, np.float32)).to(device)


def _torch_scores(x: np.ndarray, weights: np.ndarray, device: torch.device) -> np.ndarray:
    """(N, D) @ (C, D).T on `device` in float32 (TF32 off) -> (N, C) numpy."""
    with exact_float32():
        return (_gpu_tensor(x, device) @ _gpu_tensor(weights, device).T).cpu().numpy()


def padded_centres(sorted_centres: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Class-sorted (M, D) centres -> (R, K_max, D): run r's centres, a short run padded with repeats of its last
    row (a repeat leaves the run's maximum unchanged)."""
    ends = np.r_[starts[1:], len(sorted_centres)]
    width = int((ends - starts).max())
    return sorted_centres[np.minimum(starts[:, None] + np.arange(width)[None, :], ends[:, None] - 1)]


def _class_max_torch(
    x: np.ndarray,
    sorted_centres: np.ndarray,
    run_class: np.ndarray,
    starts: np.ndarray,
    n_classes: int,
    device: torch.device,
) -> np.ndarray:
    """_class_max in torch on `device`: per row block one float32 product with the (R x K_max, D) padded centres,
    viewed (block, R, K_max) and reduced with amax; the (N, C) result comes back to numpy."""
    out = np.full((len(x), n_classes), -np.inf, np.float32)
    if not len(sorted_centres) or not len(x):
        return out
    padded = padded_centres(sorted_centres, starts)
    runs, width, dim = padded.shape
    centres = _gpu_tensor(padded.reshape(runs * width, dim), device)
    step = max(_MIN_BLOCK_ROWS, _SCORES_PER_BATCH // (runs * width))
    blocks = []
    with exact_float32():
        for i in range(0, len(x), step):
            sims = _gpu_tensor(x[i : i + step], device) @ centres.T  # (block, R x K_max)
            blocks.append(sims.view(len(sims), runs, width).amax(-1).cpu())
    out[:, run_class] = torch.cat(blocks).numpy()
    return out


def template_classifier(
    vectors: np.ndarray, class_of_row: np.ndarray, n_classes: int, what: str = "template embeddings"
) -> np.ndarray:
    """(R, D) template embeddings (or any class's vectors, e.g. centres) with their (R,) class -> (C, D)
    averaged and re-normalized rows; a class with none is an error naming it (and `what` it lacks)."""
    sums = np.zeros((n_classes, vectors.shape[1]), np.float32)
    order = np.argsort(class_of_row, kind="stable")
    sorted_class = class_of_row[order]
    starts = np.flatnonzero(np.r_[True, sorted_class[1:] != sorted_class[:-1]]) if len(order) else order
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))  # position in its class
    for r in range(int(rank.max()) + 1 if len(rank) else 0):  # rows added in order, as np.add.at would: same sums
        rows = order[rank == r]  # at most one row per class: a plain fancy-index add is safe
        sums[class_of_row[rows]] += vectors[rows]
    missing = np.flatnonzero(np.bincount(class_of_row, minlength=n_classes) == 0)
    if len(missing):
        raise ValueError(f"classes {missing[:5].tolist()} have no {what}")
    return normalize(sums)


def accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    return float((pred == y).mean()) if len(y) else float("nan")


def evaluate(features: dict[Setting, np.ndarray], y: np.ndarray, clf: Classifiers) -> list[dict]:
    """features: setting -> (N, D) test features; returns one row per (setting, classifier).

    `accuracy` is top-1 by the classifier's own rule (for centres: the label of the nearest centre, as the
    reference code), taken with acc@5 and mean per-class recall from the one (N, C) score matrix."""
    rows = []
    for setting, x in features.items():
        for which in Classifier:
            scores = clf.scores(x, which)  # (N, C), once: the metrics and the templates' top-1 both read it
            m = classification_metrics(scores, y)
            top1 = accuracy(clf.predict(x, which, scores), y)
            rows.append(
                {
                    "setting": str(setting),
                    "classifier": str(which),
                    "accuracy": top1,
                    "acc5": m[Metric.ACC5],
                    "mean_per_class_recall": m[Metric.MEAN_PER_CLASS_RECALL],
                    "n": len(y),
                    "metric_definition": CLASSIFICATION_DEFINITION,
                }
            )
    return rows
