"""The describer through Dagster: UNIBIND_DESCRIBER picks the backend, the nested `llm` config becomes the
describer options, the key comes from an EnvVar and never reaches the event log."""

from __future__ import annotations

import re

import dagster as dg
import pytest
from llm_testing import API_KEY, BENCH, write_classes

from assets.knowledge import category_descriptions
from assets.resources import UnibindResource
from unibind_core.knowledge.llm.config import Secret


def test_the_describer_defaults_to_unibind_describer_then_template(tmp_path, monkeypatch):
    monkeypatch.setenv("UNIBIND_DESCRIBER", "openai")
    monkeypatch.setenv("UNIBIND_DESCRIBER_MODEL", "llama-3-8b-instruct")
    resource = UnibindResource(data_root=str(tmp_path))
    assert resource.describer == "openai" and resource.settings().describer == "openai"
    assert resource.settings().llm.model == "llama-3-8b-instruct"
    assert UnibindResource(data_root=str(tmp_path), describer="hf").describer == "hf"  # explicit config wins
    monkeypatch.delenv("UNIBIND_DESCRIBER")
    assert UnibindResource(data_root=str(tmp_path)).settings().describer == "template"


def test_llm_options_become_the_frozen_describer_options(tmp_path, monkeypatch):
    monkeypatch.setenv("UNIBIND_TEST_OPENAI_KEY", API_KEY)
    resource = UnibindResource(
        data_root=str(tmp_path),
        llm={
            "mode": "batch",
            "chunk_size": 40,
            "concurrency": 16,
            "price_in_per_1m": 2.5,
            "api_key": dg.EnvVar("UNIBIND_TEST_OPENAI_KEY"),
        },
    )
    cfg = resource.settings().llm
    assert (cfg.mode, cfg.chunk_size, cfg.concurrency, cfg.price_in_per_1m) == ("batch", 40, 16, 2.5)
    assert cfg.api_key == Secret(API_KEY) and API_KEY not in repr(resource.settings())


def test_a_literal_key_is_refused_before_anything_stores_it(tmp_path):
    with pytest.raises(Exception, match=r"pass secrets as an environment reference, dg.EnvVar"):
        UnibindResource(data_root=str(tmp_path), llm={"api_key": API_KEY})

    @dg.asset
    def probe(unibind: UnibindResource) -> None:
        unibind.settings()

    with dg.DagsterInstance.ephemeral() as instance:
        with pytest.raises(dg.DagsterInvalidConfigError, match=r"api_key must be dict. Expected: .*env"):
            dg.materialize(
                [probe],
                resources={"unibind": UnibindResource(data_root=str(tmp_path))},
                instance=instance,
                run_config={"resources": {"unibind": {"config": {"llm": {"api_key": API_KEY}}}}},
            )
        assert not instance.get_runs()  # refused before a run (and its config) was stored


def test_category_descriptions_with_the_key_from_an_env_var(server, tmp_path, monkeypatch):
    monkeypatch.setenv("UNIBIND_TEST_OPENAI_KEY", API_KEY)
    resource = UnibindResource(
        data_root=str(tmp_path),
        describer="openai",
        descriptions_per_category=12,
        llm={
            "base_url": server.base_url,
            "model": "fake-gpt",
            "chunk_size": 10,
            "api_key": dg.EnvVar("UNIBIND_TEST_OPENAI_KEY"),
            "price_out_per_1m": 10.0,
        },
    )
    write_classes(resource.settings())
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [category_descriptions], partition_key=BENCH, instance=instance, resources={"unibind": resource}
        )
        assert result.success
        meta = result.asset_materializations_for_node("category_descriptions")[0].metadata
        assert meta["requests_sent"].value == 6 and meta["cost_usd_est"].value > 0
        assert meta["flagged"].value == {} and meta["describer"].value == "llm:fake-gpt"
        events = instance.all_logs(result.run_id)
        assert API_KEY not in str([e.dagster_event for e in events]) + str([e.user_message for e in events])
        assert API_KEY not in str(instance.get_run_by_id(result.run_id).run_config)
    assert {c.authorization for c in server.calls} == {f"Bearer {API_KEY}"}


def _fails_once_without_step_retries(resource: UnibindResource, within_s: float) -> str:
    """Materialize the descriptions; assert one failed attempt (no retry policy delays) within `within_s`;
    return the step's error."""
    import time

    write_classes(resource.settings())
    start = time.perf_counter()
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [category_descriptions],
            partition_key=BENCH,
            instance=instance,
            resources={"unibind": resource},
            raise_on_error=False,
        )
        assert not result.success
        error = str(result.get_step_failure_events()[0].step_failure_data.error)
        assert not [
            e
            for e in instance.all_logs(result.run_id)
            if e.dagster_event and e.dagster_event.event_type_value == "STEP_RESTARTED"
        ]
    assert time.perf_counter() - start < within_s  # the retry policy's 10 s + 20 s + 40 s never apply
    return error


def test_a_closed_port_fails_in_seconds_naming_the_endpoint_without_step_retries(tmp_path):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    error = _fails_once_without_step_retries(
        UnibindResource(
            data_root=str(tmp_path),
            describer="openai",
            descriptions_per_category=5,
            llm={"base_url": f"http://127.0.0.1:{port}/v1", "model": "m"},
        ),
        within_s=30,
    )
    assert f"127.0.0.1:{port}" in error and "connection refused" in error


def test_an_unknown_describer_fails_at_once_without_step_retries(tmp_path):
    error = _fails_once_without_step_retries(
        UnibindResource(data_root=str(tmp_path), describer="gpt5-magic"), within_s=20
    )
    assert re.search(r"unknown describer 'gpt5-magic'; known: .*openai.*template", error)  # others may register
