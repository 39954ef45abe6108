"""Per-benchmark evaluation (METHOD.md §4): top-1 accuracy of one feature set under several classifiers.

Classifiers: CLIP templates (80, averaged and re-normalized), a single template, UniBind centres
(arg-max over all C x K centres); each on frozen features (zero-shot) and on fine-tuned head features.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from unibind_core.centres import normalize, predict_with_centres

EVAL_SCHEMA = pa.schema([
    ("benchmark", pa.string()), ("modality", pa.string()), ("setting", pa.string()),  # zero-shot | fine-tuned
    ("classifier", pa.string()),  # templates | single_template | centres
    ("accuracy", pa.float64()), ("n", pa.int64()), ("split", pa.string()), ("prompt_set", pa.string()),
])


@dataclass(frozen=True)
class Classifiers:
    templates: np.ndarray  # (C, D): mean of the 80 template embeddings per class, re-normalized
    single_template: np.ndarray  # (C, D)
    centres: np.ndarray  # (M, D)
    centre_class: np.ndarray  # (M,)


def template_classifier(vectors: np.ndarray, class_of_row: np.ndarray, n_classes: int) -> np.ndarray:
    """(R, D) template embeddings with their (R,) class -> (C, D) averaged and re-normalized rows."""
    sums = np.zeros((n_classes, vectors.shape[1]), np.float32)
    np.add.at(sums, class_of_row, vectors)
    missing = np.flatnonzero(np.bincount(class_of_row, minlength=n_classes) == 0)
    if len(missing):
        raise ValueError(f"classes {missing[:5].tolist()} have no template embeddings")
    return normalize(sums)


def accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    return float((pred == y).mean()) if len(y) else float("nan")


def classify(x: np.ndarray, clf: Classifiers, which: str) -> np.ndarray:
    if which == "centres":
        return predict_with_centres(x, clf.centres, clf.centre_class)
    return (x @ getattr(clf, which).T).argmax(1)


def evaluate(features: dict[str, np.ndarray], y: np.ndarray, clf: Classifiers) -> list[dict]:
    """features: setting -> (N, D) test features; returns one row per (setting, classifier)."""
    return [{"setting": setting, "classifier": which, "accuracy": accuracy(classify(x, clf, which), y), "n": len(y)}
            for setting, x in features.items() for which in ("templates", "single_template", "centres")]
