"""Kill-and-resume: a describer process SIGKILLed mid-run, then run again (here, in the test process, from
the same data root), loses nothing, duplicates nothing and re-sends no request that was answered; its
result equals an uninterrupted run's."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI, Fault, default_answer
from llm_testing import CLASSES, llm_settings

from unibind_core.knowledge.describe import build_describer
from unibind_core.knowledge.kb import describe_categories

HERE = Path(__file__).resolve().parent
N, KILL_AT = 45, 14  # 3 categories × 5 chunks in round 1, then top-up rounds; killed in the middle of round 1

CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    sys.path.insert(0, {here!r})
    from llm_testing import CLASSES, llm_settings
    from unibind_core.knowledge.describe import build_describer
    from unibind_core.knowledge.kb import describe_categories

    root, base_url = Path(sys.argv[1]), sys.argv[2]
    describer = build_describer(llm_settings(root, base_url, concurrency=4))
    describe_categories(describer, CLASSES, "photo", {n}, "d", "image")
""").format(here=str(HERE), n=N)


def _half_shared(prompt, seed):
    """Every answer repeats 4 sentences of the prompt: top-up rounds are needed to reach N unique."""
    return "\n".join(default_answer(prompt, 0).splitlines()[:4] + default_answer(prompt, seed).splitlines()[4:])


def _cached_rows(root: Path) -> int:
    path = root / "cache" / "llm" / "responses.sqlite"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:  # another process's committed rows (WAL readers see them)
        return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]


def _killer(server: FakeOpenAI, root: Path, child: dict):
    """Fault hook: at request KILL_AT, wait until all earlier answers are persisted, SIGKILL the child;
    that request and every later one is never answered."""
    state = {"killed": False}
    lock = threading.Lock()

    def fault(call):
        if call.n < KILL_AT:
            return None
        with lock:
            if not state["killed"]:
                deadline = time.monotonic() + 20
                while (
                    len(server.answered) < KILL_AT - 1 or _cached_rows(root) < KILL_AT - 1
                ) and time.monotonic() < deadline:
                    time.sleep(0.01)
                os.kill(child["pid"], signal.SIGKILL)
                state["killed"] = True
        return Fault(drop=True)

    return fault


def _kill_child_mid_run(root: Path, server: FakeOpenAI) -> None:
    child: dict = {}
    server.fault = _killer(server, root, child)
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root), server.base_url], stderr=subprocess.PIPE, text=True
    )
    child["pid"] = proc.pid
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, err[-2000:]


@pytest.mark.slow  # a killed describer process: ~7 s
def test_a_killed_run_resumes_without_losing_duplicating_or_re_requesting(tmp_path):
    reference_root, root = tmp_path / "reference", tmp_path / "killed"
    with FakeOpenAI(answer=_half_shared) as server:  # the uninterrupted run, for comparison
        reference = describe_categories(
            build_describer(llm_settings(reference_root, server.base_url)), CLASSES, "photo", N, "d", "image"
        )[0]
        reference_requests = len(server.answered)
    assert reference_requests > 15  # top-up rounds happened

    with FakeOpenAI(answer=_half_shared) as server:
        _kill_child_mid_run(root, server)
        first = list(server.answered)
        assert len(first) == KILL_AT - 1 == _cached_rows(root)  # every answer received was persisted

        server.fault, server.calls, server.answered = None, [], []
        resumed = build_describer(llm_settings(root, server.base_url))
        table = describe_categories(resumed, CLASSES, "photo", N, "d", "image")[0]
        second = list(server.calls)

    answered_first = {(c.prompt, c.seed) for c in first}
    assert not answered_first & {(c.prompt, c.seed) for c in second}  # zero re-requested
    assert len(first) + len(second) == reference_requests  # zero paid twice, nothing extra
    assert table.column("ID").to_pylist() == reference.column("ID").to_pylist()
    assert table.column("Description").to_pylist() == reference.column("Description").to_pylist()  # zero lost
    assert len(set(table.column("ID").to_pylist())) == table.num_rows == 3 * N  # zero duplicated rows
    assert _cached_rows(root) == reference_requests
    assert resumed.report()["cache_hits"] >= KILL_AT - 1
