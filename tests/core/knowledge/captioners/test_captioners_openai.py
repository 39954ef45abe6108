"""openai_vision against the describers' OpenAI-compatible server on 127.0.0.1, through the real client:
transient faults, bad answers, quota, keyframes in one request, and a SIGKILL mid-run."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from caption_worker import openai_settings
from fake_openai import FakeOpenAI, Fault

from unibind_core.knowledge.llm.cache import ResponseCache
from unibind_core.knowledge.llm.retry import QuotaExhausted
from unibind_core.stages.knowledge import caption_rows, stage_captions
from unibind_core.storage.tables import (
    CAPTION_QUARANTINE,
    CAPTIONS,
    MANIFEST,
    CaptionProblem,
    Split,
    split_is,
)

ROOT = Path(__file__).resolve().parents[4]


def images_of(call) -> list[str]:
    """Hashes of the images a chat request carried (what identifies a sample to the server)."""
    parts = [p for m in call.body["messages"] if isinstance(m["content"], list) for p in m["content"]]
    return [hashlib.sha256(p["image_url"]["url"].encode()).hexdigest()[:12] for p in parts if p["type"] == "image_url"]


def caption_answer(prompt: str, seed: int | None) -> str:
    return "A handwritten digit drawn in dark ink on a plain light background."


def test_transient_faults_are_retried_and_bad_answers_asked_again_then_flagged(world):
    flagged_image: list[str] = []

    def fault(call):
        first = images_of(call)[0]
        if call.n == 1:
            return Fault(status=429, error={"message": "slow down", "type": "rate_limit"}, headers={"Retry-After": "0"})
        if call.n == 2:
            return Fault(status=500)
        if call.n in (3, 4):
            return Fault(content="" if call.n == 3 else "I'm sorry, I can't help with that.")
        if not flagged_image:
            flagged_image.append(first)
        if first == flagged_image[0]:  # this sample's every answer only repeats the prompt
            return Fault(content="Generate a detailed description of this photo.")
        return None

    with FakeOpenAI(answer=caption_answer, fault=fault) as server:
        s = openai_settings(world, server.base_url, max_bad_answers=3)
        result = stage_captions(s, "demo_image")
    meta, model = result.metadata, result.metadata["model_report"]
    assert model["transport_retries"] == 2 and model["cost_usd_est"] > 0 and model["tokens_in"] > 0
    bad = meta["bad_answers"]  # the flagged sample may have drawn the empty or refused answer first
    assert bad["empty"] == 1 and bad["refusal"] == 1 and bad["repeats_prompt"] >= 2
    assert meta["flagged"] == 1 and meta["without_caption"] == 1
    table = CAPTIONS.read(s.layout.captions("demo_image"))
    assert table.num_rows == meta["rows"] == caption_rows(s, "demo_image") - 1 and set(
        table["Description"].to_pylist()
    ) == {caption_answer("", 0)}
    problems = CAPTION_QUARANTINE.read(s.layout.caption_quarantine("demo_image")).to_pylist()
    assert [p["kind"] for p in problems] == [CaptionProblem.FLAGGED] and "repeats_prompt" in problems[0]["reason"]
    assert "sk-unibind" not in json.dumps(meta, default=str)  # the key never reaches the metadata


def test_an_unreadable_sample_is_quarantined_and_the_run_goes_on(world):
    with FakeOpenAI(answer=caption_answer) as server:
        s = openai_settings(world, server.base_url)
        train = MANIFEST.read(s.layout.manifest("demo_image"), filter=split_is(Split.TRAIN))
        victim = train["path"][0].as_py()
        (world / "datasets/demo/caltech101" / victim).write_bytes(b"not an image")
        result = stage_captions(s, "demo_image")
    problems = CAPTION_QUARANTINE.read(s.layout.caption_quarantine("demo_image")).to_pylist()
    assert [(p["path"], p["kind"]) for p in problems] == [(victim, CaptionProblem.UNREADABLE)]
    assert "cannot" in problems[0]["reason"] and result.metadata["quarantined"] == 1
    assert result.metadata["rows"] == CAPTIONS.read(s.layout.captions("demo_image")).num_rows == train.num_rows - 1


def test_video_keyframes_go_in_one_request_and_quota_stops_cleanly(world):
    with FakeOpenAI(answer=caption_answer) as server:
        stage_captions(openai_settings(world, server.base_url, keyframes=3), "demo_video")
        assert server.calls and all(len(images_of(c)) == 3 for c in server.calls)
    quota = Fault(
        status=429, error={"message": "no credit", "type": "insufficient_quota", "code": "insufficient_quota"}
    )
    with FakeOpenAI(answer=caption_answer, fault=lambda call: quota if call.n > 3 else None) as server:
        s = openai_settings(world, server.base_url)
        with pytest.raises(QuotaExhausted, match="every answer received so far is cached"):
            stage_captions(s, "demo_pointcloud")
        assert ResponseCache(s.layout.llm_cache).count() >= 3  # what was answered is kept


@pytest.mark.slow  # a child interpreter that imports torch: ~20 s on two cores
def test_a_sigkilled_run_resumes_and_no_sample_is_captioned_twice(world):
    release = threading.Event()

    def fault(call):
        if call.n > 5 and not release.is_set():
            return Fault(delay_s=30.0)  # the 6th request hangs until the child is killed
        return None

    with FakeOpenAI(answer=caption_answer, fault=fault) as server:
        s = openai_settings(world, server.base_url)
        env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{Path(__file__).parent}"}
        child = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).parent / "caption_worker.py"),
                str(world),
                server.base_url,
                "demo_audio",
            ],
            env=env,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while len(server.answered) < 5 or ResponseCache(s.layout.llm_cache).count() < 5:
                assert child.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
            time.sleep(0.3)
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
        finally:
            if child.poll() is None:
                child.kill()
        before = len(server.answered)
        release.set()
        result = stage_captions(s, "demo_audio")
        answered = [tuple(images_of(c)) for c in server.answered]
    assert 5 <= before < result.metadata["rows"] == caption_rows(s, "demo_audio")
    assert len(answered) == len(set(answered))  # every sample was answered exactly once, across both runs
    assert result.metadata["cache_hits"] + result.metadata["model_report"]["cache_hits"] >= 5
    assert CAPTIONS.read(s.layout.captions("demo_audio")).num_rows == result.metadata["rows"]
