from __future__ import annotations

import numpy as np
import pytest

from unibind_core.evaluation.checks import check_centres
from unibind_core.evaluation.evaluate import Classifiers, evaluate, template_classifier
from unibind_core.method.aligners.loop import HeadConfig, apply_head, train_head
from unibind_core.method.centres import ClassTexts, class_queries, localize_centres, normalize, predict_with_centres
from unibind_core.storage.io import arrow_to_vectors
from unibind_core.storage.tables import Setting


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
        classes.append(
            ClassTexts(
                c,
                f"k{c}",
                [f"n{i}" for i in range(5)] + [f"f{i}" for i in range(10)],
                ["t"] * 15,
                np.concatenate([near, far]),
            )
        )
    table = localize_centres(classes, class_queries(x, y), k=5)
    assert table.num_rows == 15
    assert all(i.startswith("n") for i in table["ID"].to_pylist())
    scores = table["score"].to_pylist()
    assert scores[:5] == sorted(scores[:5], reverse=True)
    vec = arrow_to_vectors(table["vector"])
    assert check_centres(vec, table["class_index"].to_numpy(), {0: 5, 1: 5, 2: 5}, 3, 5, 16).passed


def test_k_is_clipped_to_what_exists_and_stored_per_class():
    rng, _, x, y = _toy()
    classes = [
        ClassTexts(
            c, f"k{c}", [f"d{i}" for i in range(2 + c)], ["t"] * (2 + c), normalize(rng.normal(size=(2 + c, 16)))
        )
        for c in range(3)
    ]
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
    assert {(r["setting"], r["classifier"]) for r in rows} == {
        ("zero-shot", c) for c in ("templates", "single_template", "centres")
    }
    assert all(r["accuracy"] > 0.9 for r in rows)
    with pytest.raises(ValueError, match=r"classes \[2\]"):
        template_classifier(means[:2], np.array([0, 1]), 3)


def test_centre_scores_are_each_class_best_centre_and_keep_the_arg_max_rule(monkeypatch):
    import unibind_core.evaluation.evaluate as ev
    from unibind_core.evaluation.evaluate import centre_scores

    rng, means, x, y = _toy(n_classes=4)
    centres = normalize(np.repeat(means, 3, 0) + 0.4 * rng.normal(size=(12, 16)))
    centre_class = np.repeat(np.arange(4), 3)
    perm = rng.permutation(12)  # centres in any order: scores must not depend on it
    centres, centre_class = centres[perm], centre_class[perm]
    scores = centre_scores(x, centres, centre_class, 5)  # class 4 has no centre
    sims = x @ centres.T
    for c in range(4):
        np.testing.assert_allclose(scores[:, c], sims[:, centre_class == c].max(1), rtol=1e-6)
    assert np.isneginf(scores[:, 4]).all()
    np.testing.assert_array_equal(scores.argmax(1), predict_with_centres(x, centres, centre_class))
    monkeypatch.setattr(ev, "_MIN_BLOCK_ROWS", 1)
    monkeypatch.setattr(ev, "_SCORES_PER_BATCH", 12 * 7)  # seven rows per batch: same scores
    np.testing.assert_allclose(centre_scores(x, centres, centre_class, 5), scores, atol=1e-6)  # BLAS round-off


def test_evaluate_rows_carry_acc5_per_class_recall_and_their_definition():
    from unibind_core.evaluation.metrics import CLASSIFICATION_DEFINITION, classification_metrics
    from unibind_core.storage.tables import Classifier, Metric

    rng, means, x, y = _toy(n_classes=6, per_class=20)
    x = normalize(x + 0.8 * rng.normal(size=x.shape))  # noisy enough that top-1 < top-5
    centres = normalize(np.repeat(means, 2, 0) + 0.3 * rng.normal(size=(12, 16)))
    clf = Classifiers(means, means, centres, np.repeat(np.arange(6), 2))
    rows = {r["classifier"]: r for r in evaluate({Setting.ZERO_SHOT: x}, y, clf)}
    for which in Classifier:
        r, m = rows[str(which)], classification_metrics(clf.scores(x, which), y)
        assert r["accuracy"] == pytest.approx(m[Metric.ACC1])  # the reference rule = arg-max of the scores
        assert r["acc5"] == pytest.approx(m[Metric.ACC5]) and r["acc5"] > r["accuracy"]
        assert r["mean_per_class_recall"] == pytest.approx(m[Metric.MEAN_PER_CLASS_RECALL])
        assert r["metric_definition"] == CLASSIFICATION_DEFINITION
    few = evaluate({Setting.ZERO_SHOT: x[y < 3]}, y[y < 3], Classifiers(means[:3], means[:3], means[:3], np.arange(3)))
    assert all(np.isnan(r["acc5"]) for r in few)  # three classes: no acc@5


def test_evaluate_takes_the_centres_top1_from_its_one_score_pass(monkeypatch):
    """The centre scores already hold each class's best centre: no second (FAISS) search of the same product."""
    import unibind_core.evaluation.evaluate as ev

    rng, means, x, y = _toy(n_classes=4)
    centres = normalize(np.repeat(means, 3, 0) + 0.4 * rng.normal(size=(12, 16)))
    clf = Classifiers(means, means, centres, np.repeat(np.arange(4), 3))
    expected = predict_with_centres(x, centres, clf.centre_class)
    monkeypatch.setattr(ev, "predict_with_centres", lambda *a: pytest.fail("searched the centres a second time"))
    monkeypatch.setattr(ev, "_MIN_BLOCK_ROWS", 1)
    monkeypatch.setattr(ev, "_SCORES_PER_BATCH", 12 * 5)  # five rows per block
    [row] = [r for r in evaluate({Setting.ZERO_SHOT: x}, y, clf) if r["classifier"] == "centres"]
    assert row["accuracy"] == pytest.approx(float((expected == y).mean()))


def test_the_torch_pass_gives_the_numpy_class_maxima_with_classes_of_unequal_k(monkeypatch):
    """The GPU path (torch, padded (C, K_max) centres) run here on torch's CPU device: the same per-class maxima
    as the BLAS pass, for classes with 1, 2 and 5 centres and one without any, in blocks of 4 rows."""
    import torch

    import unibind_core.evaluation.evaluate as ev

    rng, means, x, y = _toy(n_classes=4)
    centre_class = np.array([0, 1, 1, 2, 2, 2, 2, 2])[rng.permutation(8)]  # class 3 has none
    centres = normalize(means[centre_class] + 0.4 * rng.normal(size=(8, 16)))
    monkeypatch.setattr(ev, "_MIN_BLOCK_ROWS", 4)
    monkeypatch.setattr(ev, "_SCORES_PER_BATCH", 4)
    sorted_centres, run_class, starts = ev._sort_by_class(centres, centre_class)
    fast = ev._class_max_torch(x, sorted_centres, run_class, starts, 4, torch.device("cpu"))
    np.testing.assert_allclose(fast, ev.centre_scores(x, centres, centre_class, 4), rtol=1e-6, atol=1e-6)
    assert np.isneginf(fast[:, 3]).all()
    np.testing.assert_array_equal(fast.argmax(1), predict_with_centres(x, centres, centre_class))
    tpl = ev._torch_scores(x, means, torch.device("cpu"))
    np.testing.assert_allclose(tpl, x @ means.T, rtol=1e-6, atol=1e-6)


def test_template_sums_are_np_add_at_sums_bit_for_bit():
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((900, 32)).astype(np.float32)
    cls = rng.integers(0, 7, 900)
    sums = np.zeros((7, 32), np.float32)
    np.add.at(sums, cls, vectors)
    np.testing.assert_array_equal(template_classifier(vectors, cls, 7), normalize(sums))
    with pytest.raises(ValueError, match=r"classes \[7\] have no template embeddings"):
        template_classifier(vectors, cls, 8)


@pytest.mark.gpu
def test_evaluation_on_cuda_gives_the_cpu_rows():
    import torch

    assert torch.cuda.is_available(), "a CUDA machine runs the gpu lane"
    rng, means, x, y = _toy(n_classes=6, per_class=30)
    centres = normalize(np.repeat(means, 3, 0) + 0.4 * rng.normal(size=(18, 16)))
    cpu = evaluate({Setting.ZERO_SHOT: x}, y, Classifiers(means, means, centres, np.repeat(np.arange(6), 3)))
    gpu = evaluate({Setting.ZERO_SHOT: x}, y, Classifiers(means, means, centres, np.repeat(np.arange(6), 3), "cuda"))
    assert [r["accuracy"] for r in gpu] == [r["accuracy"] for r in cpu]
    assert [r["acc5"] for r in gpu] == pytest.approx([r["acc5"] for r in cpu])
