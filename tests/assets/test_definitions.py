"""The code location as a user meets it: named jobs, a knowledge-base schedule, a described sensor,
numeric metadata, row counts, column schemas, check results that name their partition."""

from __future__ import annotations

import dagster as dg
import pytest

from assets.materialize import to_materialize_result
from assets.partitions import BENCHMARKS
from pipelines.definitions import GROUPS, defs, refresh_knowledge_base
from unibind_core.evaluation.checks import CheckOutcome
from unibind_core.stages import StageResult
from unibind_core.storage.tables import KB_SCHEMA


def test_every_stage_group_has_a_named_job_and_the_whole_graph_one_more():
    names = {job.name for job in defs.resolve_all_job_defs()}
    assert {f"{g}_job" for g in GROUPS} | {"unibind_all"} <= names
    job = defs.resolve_job_def("knowledge_job")
    assert job.partitions_def is not None and set(job.partitions_def.get_partition_keys()) == set(BENCHMARKS)
    keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert {"category_descriptions", "knowledge_base", "kb_text_embeddings"} <= keys and "aligned_heads" not in keys


def test_the_knowledge_base_schedule_is_off_and_asks_for_every_benchmark():
    assert refresh_knowledge_base.default_status == dg.DefaultScheduleStatus.STOPPED
    import datetime as dt

    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2026, 12, 7, 3, tzinfo=dt.UTC), repository_def=defs.get_repository_def()
    )
    requests = list(refresh_knowledge_base.evaluate_tick(context).run_requests)
    assert [r.partition_key for r in requests] == list(BENCHMARKS)
    assert {r.run_key for r in requests} == {f"{b}:2026-12-07" for b in BENCHMARKS}  # one run per benchmark a week


def test_the_automation_sensor_says_what_it_does():
    sensor = defs.resolve_sensor_def("unibind_automation")
    assert "only when" in sensor.description and sensor.default_status == dg.DefaultSensorStatus.STOPPED


def test_metrics_are_numeric_entries_and_checks_name_their_partition():
    res = StageResult(
        "v1",
        {"n_test": 20},
        checks={"kb_valid": CheckOutcome(False, "3 empty descriptions")},
        metrics={"accuracy/zero-shot/centres": 0.91},
        row_count=1234,
    )
    out = to_materialize_result(res, partition="demo_audio")
    assert out.metadata["accuracy/zero-shot/centres"] == dg.MetadataValue.float(0.91)
    assert out.metadata["dagster/row_count"] == dg.MetadataValue.int(1234)
    (check,) = out.check_results
    assert check.description == "[demo_audio] 3 empty descriptions" and not check.passed
    assert check.metadata["partition"] == dg.MetadataValue.text("demo_audio")


def test_table_assets_declare_their_column_schema():
    spec = next(s for s in defs.resolve_all_asset_specs() if s.key == dg.AssetKey("knowledge_base"))
    schema = spec.metadata["dagster/column_schema"]
    assert [c.name for c in schema.columns] == KB_SCHEMA.names


def test_retrieval_is_an_asset_of_the_evaluation_job_upstream_of_the_results():
    job = defs.resolve_job_def("evaluation_job")
    keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert {"benchmark_evaluation", "retrieval_evaluation", "results_table"} <= keys
    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey("retrieval_evaluation"))
    assert not node.is_partitioned  # one table over every pair of the profile
    assert {k.to_user_string() for k in node.parent_keys} == {"aligned_heads", "data_embeddings"}
    assert dg.AssetKey("retrieval_evaluation") in graph.get(dg.AssetKey("results_table")).parent_keys
    from pipelines.run_all import WAVES

    order = [name for selection, _ in WAVES for name in selection]
    assert order.index("aligned_heads") < order.index("retrieval_evaluation") < order.index("results_table")


@pytest.mark.slow  # loads the paper profile's definitions: ~9 s
def test_the_paper_profile_has_no_demo_assets_and_features_follow_the_manifest_alone():
    """The demo world and the demo encoders are demo-profile assets: a paper run starts at the user's data."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    code = (
        "import json; from pipelines.definitions import defs; g = defs.resolve_asset_graph(); "
        "import dagster as dg; keys = [k.to_user_string() for k in g.get_all_asset_keys()]; "
        "parents = [p.to_user_string() for p in g.get(dg.AssetKey('data_embeddings')).parent_keys]; "
        "jobs = [j.name for j in defs.resolve_all_job_defs()]; "
        "print(json.dumps({'keys': keys, 'parents': parents, 'jobs': jobs, "
        "'partitions': defs.resolve_job_def('data_job').partitions_def.get_partition_keys()}))"
    )
    env = {**os.environ, "UNIBIND_PROFILE": "paper", "PYTHONPATH": str(repo)}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=repo, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert "demo_world" not in seen["keys"] and "demo_backbone" not in seen["keys"]
    assert {"benchmark_manifest", "data_embeddings", "aligned_heads", "results_table"} <= set(seen["keys"])
    assert seen["parents"] == ["benchmark_manifest"]
    from unibind_core.data.benchmarks.spec import profile_benchmarks

    assert "data_job" in seen["jobs"] and seen["partitions"] == list(profile_benchmarks("paper"))
