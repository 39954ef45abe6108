from __future__ import annotations

import numpy as np
import pytest

from unibind_core.centres import ClassTexts, class_queries, localize_centres, normalize, predict_with_centres
from unibind_core.checks import check_centres
from unibind_core.evaluate import Classifiers, evaluate, template_classifier
from unibind_core.heads import HeadConfig, apply_head, train_head
from unibind_core.io import arrow_to_vectors
from unibind_core.tables import Setting


def _toy(seed=0, n_classes=3, per_class=40, dim=16):
    rng = np.random.default_rng(seed)
    means = normalize(rng.normal(size=(n_classes, dim)))
    y = np.repeat(np.arange(n_classes), per_class)
    x = normalize(means[y] + 0.3 * rng.normal(size=(len(y), dim)))
    return rng, means, x, y


def test_centres_are_the_top_k_descriptions_nearest_the_data_mean():
    rng, means, x, y = _toy()
    classes = []
    for c in range(3):
        near = normalize(means[c] + 0.2 * rng.normal(size=(5, 16)))
        far = normalize(rng.normal(size=(10, 16)))
        classes.append(ClassTexts(c, f"k{c}", [f"n{i}" for i in range(5)] + [f"f{i}" for i in range(10)],
                                  ["t"] * 15, np.concatenate([near, far])))
    table = localize_centres(classes, class_queries(x, y), k=5)
    assert table.num_rows == 15
    assert all(i.startswith("n") for i in table["ID"].to_pylist())
    scores = table["score"].to_pylist()
    assert scores[:5] == sorted(scores[:5], reverse=True)
    vec = arrow_to_vectors(table["vector"])
    assert check_centres(vec, table["class_index"].to_numpy(), {0: 5, 1: 5, 2: 5}, 3, 5, 16).passed


def test_k_is_clipped_to_what_exists_and_stored_per_class():
    rng, _, x, y = _toy()
    classes = [ClassTexts(c, f"k{c}", [f"d{i}" for i in range(2 + c)], ["t"] * (2 + c),
                          normalize(rng.normal(size=(2 + c, 16)))) for c in range(3)]
    table = localize_centres(classes, class_queries(x, y), k=50)
    assert dict(zip(table["class_index"].to_pylist(), table["k"].to_pylist())) == {0: 2, 1: 3, 2: 4}


def test_a_class_without_descriptions_is_named():
    _, _, x, y = _toy()
    empty = ClassTexts(0, "lonely", [], [], np.zeros((0, 16), np.float32))
    with pytest.raises(ValueError, match="'lonely' has no descriptions"):
        localize_centres([empty], class_queries(x, y), 5)


def test_centre_check_catches_nan_and_wrong_counts():
    v = normalize(np.ones((4, 8)))
    v[0, 0] = np.nan
    out = check_centres(v, np.array([0, 0, 1, 1]), {0: 2, 1: 3}, 2, 50, 8)
    assert not out.passed and "non-finite" in out.description and "[1]" in out.description


def test_prediction_is_the_label_of_the_single_nearest_centre():
    centres = normalize(np.array([[1, 0], [0, 1], [0.7, 0.7]], np.float32))
    pred = predict_with_centres(normalize(np.array([[0.6, 0.8], [1, 0.05]], np.float32)), centres, np.array([0, 1, 2]))
    assert pred.tolist() == [2, 0]


def test_identity_head_reproduces_zero_shot_and_training_improves_eval():
    rng, means, x, y = _toy(per_class=80)
    # Captions live in a rotated space: the head must learn the rotation to match them.
    q, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    texts = normalize((x @ q).astype(np.float32))
    centres, cc = normalize((means @ q).astype(np.float32)), np.arange(3)
    tr, ev = np.arange(len(y)) % 4 != 0, np.arange(len(y)) % 4 == 0
    cfg = HeadConfig(batch_size=32, lr=5e-3, epochs=15)
    head, history = train_head(x[tr], texts[tr], y[tr], x[ev], y[ev], centres, cc, cfg)
    step0 = (predict_with_centres(x[ev], centres, cc) == y[ev]).mean()
    assert history[0]["eval_accuracy"] == pytest.approx(step0)
    assert max(h["eval_accuracy"] for h in history) > step0 + 0.2
    best = (predict_with_centres(apply_head(head, x[ev]), centres, cc) == y[ev]).mean()
    assert best == pytest.approx(max(h["eval_accuracy"] for h in history))


def test_evaluate_reports_each_setting_and_classifier():
    _, means, x, y = _toy()
    tpl = template_classifier(np.concatenate([means, means]), np.array([0, 1, 2, 0, 1, 2]), 3)
    clf = Classifiers(tpl, tpl, means, np.arange(3))
    rows = evaluate({Setting.ZERO_SHOT: x}, y, clf)
    assert {(r["setting"], r["classifier"]) for r in rows} == {("zero-shot", c) for c in
                                                               ("templates", "single_template", "centres")}
    assert all(r["accuracy"] > 0.9 for r in rows)
    with pytest.raises(ValueError, match=r"classes \[2\]"):
        template_classifier(means[:2], np.array([0, 1]), 3)
