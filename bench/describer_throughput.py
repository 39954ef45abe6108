"""Throughput of the openai describer against a local OpenAI-compatible server, and what a kill costs.

    .venv/bin/python bench/describer_throughput.py [--categories 100] [--n 500] [--concurrency 16]

The fake server (tests/core/knowledge/llm/fake_openai.py) runs in this process and answers at once; the describer
runs in a child process (its own interpreter, as in a Dagster step) through the real `openai` client, so
the figures are the client side's: request building, HTTP, parsing, CLIP-length checks, SQLite commits.
Prints requests/s at the chosen concurrency, the per-request overhead at concurrency 1 next to a bare
`openai` client loop, and, after a SIGKILL at half-way and a restart, how many answered requests were
sent again (killed between requests, and killed with answers in flight).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "core" / "llm"))

from fake_openai import PROMPT, FakeOpenAI, Fault

_PLACES = (
    "in a sunlit kitchen",
    "on a crowded city street at dusk",
    "beside a quiet mountain lake",
    "inside a dim museum hall",
    "on a wooden table near the window",
    "in the middle of a rainy parking lot",
)
_DETAILS = (
    "with soft shadows falling across it",
    "while people walk past without noticing",
    "captured from a low angle with a wide lens",
    "surrounded by scattered autumn leaves",
    "photographed in sharp focus against a blurred background",
    "next to an old bicycle",
)


def realistic_answer(prompt: str, seed: int | None) -> str:
    """GPT-like answers: 8–25-word sentences, one in 25 too long for CLIP (to be shortened)."""
    m = PROMPT.search(prompt)
    n, subject = (int(m.group(1)), m.group(2)) if m else (50, "A photo of a thing")
    s, lines = seed or 0, []
    for i in range(n):
        place, detail = _PLACES[(s + i) % 6], _DETAILS[(s // 7 + i) % 6]
        text = f"{subject} {place}, {detail}, number {s % 100_000}-{i}."
        if i % 25 == 24:
            text = text[:-1] + ", " + " ".join(["and then it keeps going on and on"] * 8) + "."
        lines.append(f"{i + 1}. {text}")
    return "\n".join(lines)


CHILD = """
import json, sys, time
from pathlib import Path
from unibind_core.data.benchmarks.manifest import ClassInfo
from unibind_core.knowledge.describe import build_describer
from unibind_core.knowledge.kb import clip_token_count, describe_categories
from unibind_core.knowledge.llm.config import LLMConfig
from unibind_core.core.settings import Settings

root, base_url, categories, n, concurrency = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
clip_token_count("warm up the CLIP tokenizer")  # its import (~5 s) is not the describer's cost
llm = LLMConfig(model="fake-gpt", base_url=base_url, chunk_size=50, concurrency=concurrency)
describer = build_describer(Settings(data_root=Path(root), describer="openai", llm=llm))
classes = [ClassInfo(i, f"c{i:04d}", f"thing{i}") for i in range(categories)]
start = time.perf_counter()
table, _ = describe_categories(describer, classes, "photo", n, "bench", "image")
print(json.dumps({"seconds": time.perf_counter() - start, "rows": table.num_rows, **describer.report()}))
"""


def run_child(
    root: Path, server: FakeOpenAI, categories: int, n: int, concurrency: int, kill: threading.Event | None = None
) -> dict | None:
    """Run the describer in a child process; SIGKILL it when `kill` is set (returns None then)."""
    env = {**os.environ, "OPENAI_API_KEY": "sk-bench-not-a-real-key", "HF_HUB_OFFLINE": "1"}
    args = [sys.executable, "-c", CHILD, str(root), server.base_url, str(categories), str(n), str(concurrency)]
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if kill is not None:
        threading.Thread(target=lambda: kill.wait() and proc.send_signal(signal.SIGKILL), daemon=True).start()
    out, err = proc.communicate()
    if proc.returncode == -signal.SIGKILL:
        return None
    if proc.returncode != 0:
        raise RuntimeError(err[-3000:])
    return json.loads(out.strip().splitlines()[-1])


def cached_rows(root: Path) -> int:
    path = root / "cache" / "llm" / "responses.sqlite"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]


def kill_and_resume(root: Path, opts: argparse.Namespace, kill_at: int, quiesce: bool) -> tuple[int, int, dict]:
    """Kill the describer once `kill_at` requests were answered, restart it; (answered before, re-sent, report).

    quiesce=False: SIGKILL at once, while answers are on the wire (those can only be asked again).
    quiesce=True: stop answering, let the child persist what it received, then SIGKILL (a crash between
    requests): every re-sent request is a bug."""
    with FakeOpenAI(answer=realistic_answer) as server:
        kill, lock = threading.Event(), threading.Lock()

        def fault(call):
            if call.n < kill_at:
                return None
            with lock:
                while (
                    quiesce
                    and not kill.is_set()
                    and (len(server.answered) < kill_at - 1 or cached_rows(root) < kill_at - 1)
                ):
                    time.sleep(0.005)
                kill.set()
            return Fault(delay_s=0.5, drop=True)

        server.fault = fault
        run_child(root, server, opts.categories, opts.n, opts.concurrency, kill)
        answered_before = {(c.prompt, c.seed) for c in server.answered}
        server.fault, server.calls, server.answered = None, [], []
        resumed = run_child(root, server, opts.categories, opts.n, opts.concurrency)
        resent = sum((c.prompt, c.seed) in answered_before for c in server.calls)
    return len(answered_before), resent, resumed


def bare_client_overhead(server: FakeOpenAI, requests: int = 300) -> float:
    """Seconds per request of a plain sequential `openai` client loop against the same server."""
    import openai

    client = openai.OpenAI(api_key="sk-bench", base_url=server.base_url, max_retries=0)
    body = {
        "model": "fake-gpt",
        "messages": [
            {"role": "user", "content": "Please generate 50 sentences related to this sentence <A photo of a dog>"}
        ],
    }
    client.chat.completions.create(**body)
    start = time.perf_counter()
    for _ in range(requests):
        client.chat.completions.create(**body)
    return (time.perf_counter() - start) / requests


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--categories", type=int, default=100)
    parser.add_argument("--n", type=int, default=500, help="descriptions per category (50 per request)")
    parser.add_argument("--concurrency", type=int, default=16)
    opts = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="unibind-describer-bench-"))
    print(f"cores: {os.cpu_count()}; {opts.categories} categories × {opts.n} descriptions, 50 per request")

    with FakeOpenAI(answer=realistic_answer) as server:
        fast = run_child(tmp / "throughput", server, opts.categories, opts.n, opts.concurrency)
        rate = fast["requests_sent"] / fast["seconds"]
        print(
            f"concurrency {opts.concurrency:>2}: {fast['requests_sent']} requests, {fast['rows']} rows in "
            f"{fast['seconds']:.2f} s -> {rate:.0f} req/s (target ≥ 100); {fast['shortened']} shortened, "
            f"{fast['dropped_over_long']} dropped as over-long"
        )
        small = max(1, opts.categories // 5)
        one = run_child(tmp / "sequential", server, small, opts.n, 1)
        per_request = one["seconds"] / one["requests_sent"]
        bare = bare_client_overhead(server)
        print(
            f"concurrency  1: {per_request * 1e3:.2f} ms per request end to end "
            f"(bare openai client loop: {bare * 1e3:.2f} ms; describer overhead {(per_request - bare) * 1e3:.2f} ms)"
        )

    half = fast["requests_sent"] // 2
    for quiesce, label in ((True, "crash between requests"), (False, "SIGKILL mid-stream")):
        before, resent, resumed = kill_and_resume(tmp / f"killed-{quiesce}", opts, half, quiesce)
        print(
            f"{label}: killed after {before} answered requests; the restart sent {resumed['requests_sent']}, "
            f"took {resumed['cache_hits']} from the cache, re-sent {resent} of those answered (target 0); "
            f"rows {resumed['rows']} (uninterrupted: {fast['rows']})"
        )
    print(
        f"(mid-stream, the answers already written by the server but not yet read by the killed process, "
        f"at most the {opts.concurrency} in flight, cannot be kept by any client)"
    )


if __name__ == "__main__":
    main()
