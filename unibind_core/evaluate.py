"""Per-benchmark evaluation (docs/method.md §5): top-1 accuracy of one feature set under several classifiers.

Classifiers: CLIP templates (80, averaged and re-normalized), a single template, UniBind centres
(arg-max over all C x K centres); each on frozen features (zero-shot) and on fine-tuned head features.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unibind_core.centres import normalize, predict_with_centres
from unibind_core.tables import Classifier, Setting


@dataclass(frozen=True)
class Classifiers:
    templates: np.ndarray  # (C, D): mean of the 80 template embeddings per class, re-normalized
    single_template: np.ndarray  # (C, D)
    centres: np.ndarray  # (M, D)
    centre_class: np.ndarray  # (M,)

    def predict(self, x: np.ndarray, which: Classifier) -> np.ndarray:
        """(N, D) unit vectors -> (N,) predicted class indices."""
        if which is Classifier.CENTRES:
            return predict_with_centres(x, self.centres, self.centre_class)
        weights = self.templates if which is Classifier.TEMPLATES else self.single_template
        return (x @ weights.T).argmax(1)


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


def evaluate(features: dict[Setting, np.ndarray], y: np.ndarray, clf: Classifiers) -> list[dict]:
    """features: setting -> (N, D) test features; returns one row per (setting, classifier)."""
    return [{"setting": str(setting), "classifier": str(which), "accuracy": accuracy(clf.predict(x, which), y),
             "n": len(y)} for setting, x in features.items() for which in Classifier]
