"""The `predictions` asset over the observed inbox folder: new files classified as `unibind predict` does."""

from __future__ import annotations

import shutil

import dagster as dg

from pipelines.definitions import ALL_ASSETS
from unibind_core.data.benchmarks.build import dataset_root
from unibind_core.data.benchmarks.spec import BENCHMARKS
from unibind_core.stages.common import read_manifest
from unibind_core.stages.predictions import ABSENT, inbox, inbox_version, outputs
from unibind_core.storage.tables import PREDICTION_FAILURES, PREDICTIONS, Classifier, Setting
from unibind_core.use.predict import bound_model, predict


def test_files_dropped_in_the_inbox_are_classified_by_the_asset(materialized):
    instance, resource, _ = materialized
    s = resource.settings()
    root = dataset_root(BENCHMARKS["demo_image"], s.layout.datasets)
    rows = [r for r in read_manifest(s, "demo_image").to_pylist() if r["split"] == "test"][:3]
    folder = inbox(s, "demo_image")
    assert inbox_version(s, "demo_image") == ABSENT
    (folder / "new").mkdir(parents=True)
    copies = [shutil.copyfile(root / r["path"], folder / "new" / f"{i}.jpg") for i, r in enumerate(rows)]
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    version = inbox_version(s, "demo_image")
    assert version != ABSENT
    result = dg.materialize(
        ALL_ASSETS,
        selection=["predictions"],
        partition_key="demo_image",
        instance=instance,
        resources={"unibind": resource},
    )
    assert result.success
    out, failures = outputs(s, "demo_image")
    table = PREDICTIONS.read(out)
    expected = predict(bound_model(s, "demo_image"), sorted(copies), Setting.FINE_TUNED, Classifier.CENTRES, 5)
    assert table.equals(expected.table)
    assert PREDICTION_FAILURES.read(failures)["path"].to_pylist() == [str(folder / "broken.jpg")]
    mat = instance.get_latest_materialization_event(dg.AssetKey("predictions")).asset_materialization
    assert mat.metadata["classified"].value == 3 and mat.metadata["skipped"].value == 1
    (folder / "broken.jpg").unlink()
    assert inbox_version(s, "demo_image") not in (version, ABSENT)  # the observed folder's version follows it
