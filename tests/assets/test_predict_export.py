"""`predict` and `export` on the materialized demo: predictions over a benchmark's own test files give the
accuracy its evaluation reported, an exported folder copied elsewhere gives identical predictions."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from unibind_core.core.errors import ConfigError
from unibind_core.data.benchmarks.build import dataset_root
from unibind_core.data.benchmarks.spec import BENCHMARKS
from unibind_core.stages.common import read_manifest
from unibind_core.stages.runs import all_features
from unibind_core.storage.tables import (
    EVALUATIONS,
    PREDICTION_FAILURES,
    PREDICTIONS,
    Classifier,
    Setting,
    SplitProtocol,
)
from unibind_core.use.export import export_model, load_model
from unibind_core.use.predict import bound_model, predict


def _files(s, bench, rows):
    root = dataset_root(BENCHMARKS[bench], s.layout.datasets)
    return [root / r["path"] for r in rows], np.array([r["class_index"] for r in rows])


def _test_files(s, bench):
    rows = [r for r in read_manifest(s, bench).to_pylist() if r["split"] == "test"]
    return _files(s, bench, rows)


def _reported(s, bench, setting, classifier, protocol=SplitProtocol.FIXED, fold=None):
    t = EVALUATIONS.read(s.layout.evaluation(bench)).to_pylist()
    hits = [
        r
        for r in t
        if r["setting"] == setting
        and r["classifier"] == classifier
        and r["protocol"] == protocol
        and r["fold"] == fold
        and r["aligner"] in (None, s.aligner)
    ]
    assert len(hits) == 1, hits
    return hits[0]


@pytest.mark.parametrize(
    "setting,classifier", [(Setting.FINE_TUNED, Classifier.CENTRES), (Setting.ZERO_SHOT, Classifier.TEMPLATES)]
)
def test_predictions_on_the_test_files_give_the_evaluations_accuracy(materialized, setting, classifier):
    s = materialized[1].settings()
    files, y = _test_files(s, "demo_image")
    out = predict(bound_model(s, "demo_image"), files, setting, classifier, top_k=3)
    assert not out.failures
    reported = _reported(s, "demo_image", setting, classifier)
    assert reported["n"] == len(y)
    print(
        f"demo_image {setting}/{classifier}: predict {float((out.top1 == y).mean())!r} evaluation "
        f"{reported['accuracy']!r} over {len(y)} test files"
    )
    assert float((out.top1 == y).mean()) == reported["accuracy"]
    top1 = out.table.filter(pc.equal(out.table["rank"], 0))
    assert top1["path"].to_pylist() == [str(f) for f in files]
    if setting is Setting.FINE_TUNED:  # decoded samples in give the same as their files
        from unibind_core.use.predict import decode_files

        model = bound_model(s, "demo_image")
        _, inputs, _ = decode_files(model.modality, model.loader_options, files[:4])
        again = predict(model, inputs, setting, classifier, top_k=3, names=[str(f) for f in files[:4]]).table
        first = out.table.slice(0, 12)  # the same rows; scores to float rounding (another batch size)
        assert again.drop_columns(["score"]).equals(first.drop_columns(["score"]))
        np.testing.assert_allclose(again["score"].to_numpy(), first["score"].to_numpy(), atol=1e-5)


def test_audio_fold_five_files_through_the_fold_five_head(materialized):
    s = materialized[1].settings()
    rows, _, folds = all_features(s, "demo_audio")
    by_id = {r["sample_id"]: r for r in read_manifest(s, "demo_audio").to_pylist()}
    files, y = _files(s, "demo_audio", [by_id[i] for i, f in zip(rows["sample_id"].to_pylist(), folds) if f == 5])
    out = predict(bound_model(s, "demo_audio", fold=5), files, Setting.FINE_TUNED, Classifier.CENTRES)
    reported = _reported(s, "demo_audio", Setting.FINE_TUNED, Classifier.CENTRES, SplitProtocol.CROSS_VALIDATION, 5)
    assert reported["n"] == len(y)
    print(
        f"demo_audio fold 5: predict {float((out.top1 == y).mean())!r} evaluation {reported['accuracy']!r} "
        f"over {len(y)} files"
    )
    assert float((out.top1 == y).mean()) == reported["accuracy"]


def test_exported_folder_copied_elsewhere_predicts_identically_without_the_data_root(materialized, tmp_path):
    s = materialized[1].settings()
    files, _ = _test_files(s, "demo_image")
    files = files[:12]
    export_model(s, "demo_image", tmp_path / "made")
    moved = shutil.copytree(tmp_path / "made", tmp_path / "elsewhere" / "model")
    shutil.rmtree(tmp_path / "made")
    card = (moved / "README.md").read_text()
    assert "Licences" in card and "demo_image" in card and "backbone id" in card
    model = load_model(moved)
    assert str(model.settings.data_root) == str(moved) and model.head.parent == moved
    assert str(s.data_root) not in (moved / "model.json").read_text()  # nothing points back at the data root
    for setting, classifier in (
        (Setting.FINE_TUNED, Classifier.CENTRES),
        (Setting.ZERO_SHOT, Classifier.TEMPLATES),
        (Setting.ZERO_SHOT, Classifier.SINGLE_TEMPLATE),
    ):
        here = predict(bound_model(s, "demo_image"), files, setting, classifier)
        there = predict(model, files, setting, classifier)
        assert there.table.equals(here.table)
    with pytest.raises(ConfigError, match="bound with backbone 'demo:.*not 'open_clip'"):
        load_model(moved, expect_backbone="open_clip")
    assert load_model(moved, expect_backbone="demo").backbone_id == model.backbone_id


def test_cli_predict_reports_a_bad_file_and_goes_on_and_names_a_missing_head(materialized, tmp_path):
    s = materialized[1].settings()
    files, _ = _test_files(s, "demo_image")
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 not a jpeg")
    runner = CliRunner()
    env = {"UNIBIND_DATA_ROOT": str(s.data_root)}
    out = tmp_path / "preds.parquet"
    res = runner.invoke(
        app,
        [
            "predict",
            "--benchmark",
            "demo_image",
            "--top-k",
            "2",
            "--out",
            str(out),
            str(files[0]),
            str(bad),
            str(files[1]),
        ],
        env=env,
    )
    assert res.exit_code == 0, res.output
    assert f"skipped {bad}: cannot decode" in res.output
    assert "2 of 3 files classified, 1 skipped" in res.output
    table = PREDICTIONS.read(out)
    assert table.num_rows == 4 and set(table["path"].to_pylist()) == {str(files[0]), str(files[1])}
    assert PREDICTION_FAILURES.read(tmp_path / "preds.failures.parquet")["path"].to_pylist() == [str(bad)]
    res = runner.invoke(app, ["predict", "--benchmark", "demo_image", "--format", "json", str(files[0])], env=env)
    assert res.exit_code == 0 and '"class_name"' in res.output
    no_heads = tmp_path / "root"  # the same run without its heads
    no_heads.mkdir()
    for entry in os.listdir(s.data_root):
        if entry != "heads":
            os.symlink(s.data_root / entry, no_heads / entry)
    res = runner.invoke(app, ["predict", "--benchmark", "demo_image", "--data-root", str(no_heads), str(files[0])])
    assert res.exit_code == 2 and "materialize aligned_heads first" in res.output
    res = runner.invoke(app, ["predict", "--benchmark", "demo_nope", str(files[0])])
    assert res.exit_code == 2 and "unknown benchmark 'demo_nope'" in res.output
    res = runner.invoke(app, ["export", "--benchmark", "demo_image", "--out", str(tmp_path / "bound")], env=env)
    assert res.exit_code == 0 and "model.json" in res.output, res.output
    res = runner.invoke(app, ["predict", "--model", str(tmp_path / "bound"), "--top-k", "1", str(files[0])])
    assert res.exit_code == 0 and "1 of 1 files classified" in res.output, res.output
    res = runner.invoke(app, ["predict", "--model", str(tmp_path / "bound"), "--backbone", "open_clip", str(files[0])])
    assert res.exit_code == 2 and "was bound with backbone 'demo:" in res.output
