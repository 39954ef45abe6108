"""The API key reaches the server and nothing else: no log line, metadata, table, error or repr shows it."""

from __future__ import annotations

import dataclasses
import json
import logging
import traceback

import pytest
from fake_openai import Fault
from llm_testing import API_KEY, BENCH, CLASSES, llm_settings, write_classes

from unibind_core.knowledge.describe import build_describer
from unibind_core.knowledge.kb import describe_categories
from unibind_core.knowledge.llm.retry import LLMError
from unibind_core.stages.knowledge import stage_descriptions


def test_the_key_is_sent_but_never_logged_stored_or_reported(server, tmp_path, caplog):
    s = dataclasses.replace(llm_settings(tmp_path, server.base_url), descriptions_per_category=12)
    write_classes(s)
    loggers = ("", "openai", "httpx2", "httpcore2", "unibind.llm")  # the client's and the HTTP stack's too
    for name in loggers:
        caplog.set_level(logging.DEBUG, logger=name)
    server.fault = lambda call: Fault(status=500) if call.n == 1 else None  # a retry, so warnings are logged
    result = stage_descriptions(s, BENCH)
    assert {c.authorization for c in server.calls} == {f"Bearer {API_KEY}"}  # it was used
    assert result.metadata["rows"] == 36 and result.metadata["requests_sent"] == 6
    assert "Sending HTTP Request" in caplog.text and "retry 1/6" in caplog.text  # the logs were captured
    assert "cost_usd_est" in result.metadata and "flagged" in result.metadata
    leaks = {
        "logs": caplog.text,
        "metadata": json.dumps(result.metadata, default=str),
        "settings": repr(s),
        "llm config": str(s.llm),
        "table": s.layout.descriptions(BENCH).read_bytes().decode("latin-1"),
        "cache": (tmp_path / "cache" / "llm" / "responses.sqlite").read_bytes().decode("latin-1"),
    }
    assert {where for where, text in leaks.items() if API_KEY in text} == set()
    assert API_KEY[3:12] not in leaks["logs"] + leaks["metadata"]


def test_an_error_that_echoes_the_key_is_scrubbed(server, make_describer):
    def echo(call):  # a server that quotes the credentials it was given, as some do
        return Fault(
            status=401,
            error={
                "message": f"Incorrect API key provided: {call.authorization[7:]}",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            },
        )

    server.fault = echo
    with pytest.raises(LLMError) as info:
        describe_categories(make_describer(server), CLASSES, "photo", 5, "d", "image")
    rendered = "".join(traceback.format_exception(info.value))
    assert "HTTP 401" in rendered and "Incorrect API key provided" in rendered
    assert API_KEY not in rendered and API_KEY[3:12] not in rendered
    assert info.value.__cause__ is None and info.value.__context__ is None  # no chained request with headers


def test_the_key_may_come_from_the_environment(server, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment-123456")
    s = llm_settings(tmp_path, server.base_url, api_key=None)
    describe_categories(build_describer(s), CLASSES[:1], "photo", 5, "d", "image")
    assert {c.authorization for c in server.calls} == {"Bearer sk-from-the-environment-123456"}


def test_without_a_key_or_a_local_server_the_error_says_what_to_set(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    s = llm_settings(tmp_path, None, api_key=None)
    with pytest.raises(LLMError, match="OPENAI_API_KEY"):
        build_describer(s)
