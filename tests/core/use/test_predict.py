"""`predict` on a tiny bound model: ranks follow the evaluation's classifiers, bad files are reported per file."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from unibind_core.core.errors import ConfigError
from unibind_core.core.settings import Settings
from unibind_core.data.benchmarks.manifest import ClassInfo
from unibind_core.encoders.backbone.demo import DemoEncoders, save_encoders
from unibind_core.evaluation.evaluate import Classifiers
from unibind_core.method.centres import normalize
from unibind_core.storage.tables import PREDICTIONS, Classifier, Setting
from unibind_core.use.predict import BoundModel, decode_files, predict, predict_vectors, rank, require_benchmark

DIM, C = 8, 4


def _model(tmp_path, seed=0) -> BoundModel:
    rng = np.random.default_rng(seed)
    weights = tmp_path / "demo.safetensors"
    torch.manual_seed(seed)
    save_encoders(DemoEncoders(["image"], dim=DIM, width=16), weights)
    centres = normalize(rng.normal(size=(3 * C, DIM)).astype(np.float32))
    clf = Classifiers(
        normalize(rng.normal(size=(C, DIM)).astype(np.float32)),
        normalize(rng.normal(size=(C, DIM)).astype(np.float32)),
        centres,
        np.repeat(np.arange(C), 3),
    )
    s = Settings(
        data_root=tmp_path, backbone="demo", backbone_weights=str(weights), backbone_per_modality="", device="cpu"
    )
    classes = [ClassInfo(i, f"k{i}", f"class {i}") for i in range(C)]
    return BoundModel("demo_image", "image", classes, clf, None, s, {"size": 16, "channels": 1}, "demo:test")


@pytest.mark.parametrize("which", list(Classifier))
def test_top1_is_the_evaluation_rule_and_ranks_follow_the_scores(tmp_path, which):
    model = _model(tmp_path)
    x = normalize(np.random.default_rng(1).normal(size=(50, DIM)).astype(np.float32))
    order, scores, top1 = rank(model, x, which, top_k=3)
    np.testing.assert_array_equal(order[:, 0], model.classifiers.predict(x, which))
    np.testing.assert_array_equal(top1, order[:, 0])
    full = model.classifiers.scores(x, which)
    np.testing.assert_allclose(scores, np.take_along_axis(full, order, 1))
    assert (np.diff(scores[:, 1:], axis=1) <= 0).all()  # the ranks after the top-1 by descending score
    assert all(len(set(r)) == 3 for r in order.tolist())


def test_rows_are_one_per_input_and_rank_in_the_schema(tmp_path):
    model = _model(tmp_path)
    x = normalize(np.random.default_rng(2).normal(size=(3, DIM)).astype(np.float32))
    out = predict_vectors(model, ["a", "b", "c"], x, Setting.ZERO_SHOT, Classifier.TEMPLATES, top_k=10)
    assert out.table.schema.equals(PREDICTIONS.schema)
    assert out.table.num_rows == 3 * C  # top_k clipped to the classes
    assert out.table["path"].to_pylist() == ["a"] * C + ["b"] * C + ["c"] * C
    assert out.table["class_name"].to_pylist()[0] == f"class {out.top1[0]}"


def test_a_file_that_does_not_decode_is_reported_and_the_rest_are_decoded(tmp_path):
    model = _model(tmp_path)
    good = tmp_path / "in" / "good.png"
    good.parent.mkdir()
    Image.fromarray(np.uint8(np.random.default_rng(3).integers(0, 255, (20, 20)))).save(good)
    bad = tmp_path / "in" / "bad.png"
    bad.write_bytes(b"not an image")
    missing = tmp_path / "missing.png"
    paths, inputs, failures = decode_files(model.modality, model.loader_options, [bad, good, missing])
    assert paths == [str(good)] and tuple(inputs.shape) == (1, 1, 16, 16)  # the benchmark's loader options
    reasons = {f["path"]: f["reason"] for f in failures}
    assert set(reasons) == {str(bad), str(missing)}
    assert "cannot decode" in reasons[str(bad)] and reasons[str(missing)] == "no such file"
    out = predict(model, [bad, missing], Setting.ZERO_SHOT)  # nothing decoded: no rows, every failure kept
    assert out.table.num_rows == 0 and out.table.schema.equals(PREDICTIONS.schema) and len(out.failures) == 2


def test_fine_tuned_without_a_head_and_unknown_benchmark_are_named(tmp_path):
    with pytest.raises(ConfigError, match="no head"):
        predict(_model(tmp_path), torch.rand(1, 1, 16, 16), Setting.FINE_TUNED)
    with pytest.raises(ConfigError, match="unknown benchmark 'nope'"):
        require_benchmark("nope")
