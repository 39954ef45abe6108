"""Reader options set on the Dagster resource reach the reader: UnibindResource -> Settings ->
stage_manifest, through a real materialization of the benchmark_manifest asset (one partition)."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from assets.data import benchmark_manifest
from assets.resources import UnibindResource
from tests.helpers.layouts import write_esc50
from unibind_core.core.settings import Settings
from unibind_core.data.benchmarks.spec import BENCHMARKS

BENCH = "demo_audio"  # an ESC-50-format partition of the demo profile


def _materialize(data_root: Path, reader_options: dict) -> dg.ExecuteInProcessResult:
    resource = UnibindResource(data_root=str(data_root), reader_options=json.dumps(reader_options))
    return dg.materialize(
        [benchmark_manifest], partition_key=BENCH, resources={"unibind": resource}, raise_on_error=False
    )


@pytest.fixture
def data_root(tmp_path) -> Path:
    """An ESC-50 copy holding targets 0 and 41 where the demo_audio partition reads."""
    write_esc50(tmp_path / "datasets" / BENCHMARKS[BENCH].root, classes=(0, 41))
    return tmp_path


def _metadata(result: dg.ExecuteInProcessResult) -> dict:
    (event,) = result.asset_materializations_for_node("benchmark_manifest")
    return {k: v.value for k, v in event.metadata.items()}


def test_resource_reader_options_reach_the_reader(data_root):
    plain = _materialize(data_root, {})
    assert plain.success and _metadata(plain)["classes"] == 2  # the demo spec reads custom classes
    result = _materialize(data_root, {BENCH: {"classnames": "esc50", "test_folds": [1], "eval_folds": []}})
    assert result.success
    meta = _metadata(result)
    assert meta["classes"] == 50 and meta["missing_classes"] == 48  # the shipped list: a subset copy
    assert meta["missing_class_keys"].startswith("48 of 50 classes have no sample here: rooster")
    settings = Settings(data_root=data_root, reader_options=json.dumps({BENCH: {}}))
    table = pq.read_table(settings.layout.manifest(BENCH)).to_pylist()
    assert {r["class_index"] for r in table} == {0, 41}  # canonical targets, not 0 and 1
    assert {r["sample_id"]: r["split"] for r in table} == {  # fold 1 is test, the rest train
        "1-100-A-0": "test",
        "2-100-A-0": "train",
        "1-141-A-41": "test",
        "2-141-A-41": "train",
    }


def test_an_option_the_reader_lacks_fails_the_materialization_naming_it(data_root):
    result = _materialize(data_root, {BENCH: {"bogus": 1}})
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    cause = failure.step_failure_data.error.cause
    assert cause.cls_name == "DatasetLayoutError"
    assert "the esc50 reader of demo_audio has no option bogus; its options: test_folds" in cause.message
