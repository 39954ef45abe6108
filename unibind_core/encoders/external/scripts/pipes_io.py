"""Script side of unibind's external protocol (unibind_core/encoders/external/runner.py), shared by the scripts here.

Standard library only: it runs under the external environment's interpreter, which has none of unibind.
A script is launched as `python <script> <work>/request.json`; it reads the request, its inputs from the
work folder, writes its outputs there and `result.json` (its metadata) last. Launched by Dagster Pipes
(DAGSTER_PIPES_CONTEXT set), its log lines and metadata also go through `dagster_pipes` to the run's event
log; launched by the plain runner it prints them (progress on stdout, text on stderr).

Worker mode (`python <script> --worker`, `serve_requests`): the process stays up and reads one request path per
line on stdin, answers each with its outputs, result.json, the line `@done {"request": path}` on stderr (the
launcher reads stderr on its own thread: the marker tells it the request's log lines are all in) and
`@reply {...}` on stdout, and
exits at the end of stdin. A failing request ends the process (traceback on stderr, exit code 1 or
MISSING_PACKAGE_EXIT), exactly as a one-shot launch fails, so the launcher reports both the same way.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

MISSING_PACKAGE_EXIT = 3  # the runner turns it into a ConfigError naming the environment's setup command
PROGRESS_PREFIX = "@progress "
REPLY_PREFIX = "@reply "  # worker mode: the request named in it is answered (its result.json is written)
DONE_PREFIX = "@done "  # worker mode, on stderr before the reply: every log line of that request came before it
WORKER_FLAG = "--worker"
RESULT = "result.json"
STDERR_COPY = "UNIBIND_EXTERNAL_STDERR"  # a launcher that cannot read our stderr asks for a copy in this file


class _Tee:
    """sys.stderr that also appends to a file (the Pipes runner quotes its tail when the script fails)."""

    def __init__(self, stream: Any, path: str) -> None:
        self.stream, self.copy = stream, open(path, "a", buffering=1)

    def write(self, text: str) -> int:
        self.copy.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.copy.flush()
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def need(module: str) -> Any:
    """Import `module` or exit with MISSING_PACKAGE_EXIT, saying which package is missing and why."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        print(f"cannot import {module}: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(MISSING_PACKAGE_EXIT) from exc


class Session:
    """The request of one launch and the channels back: log, progress, metadata, output paths."""

    def __init__(self, request_path: str, pipes: Any = None) -> None:
        self.request_path = Path(request_path).resolve()
        self.work = self.request_path.parent
        self.request = json.loads(self.request_path.read_text())
        self.options: dict[str, Any] = self.request.get("options", {})
        self.pipes = pipes
        self.metadata: dict[str, Any] = {}
        self._last_log = 0.0

    def input(self, key: str) -> Path:
        return self.work / self.request["inputs"][key]

    def output(self, key: str) -> Path:
        return self.work / self.request["outputs"][key]

    def log(self, message: str) -> None:
        if self.pipes is not None:
            self.pipes.log.info(message)
        else:
            print(message, file=sys.stderr, flush=True)

    def progress(self, done: int, total: int | None, unit: str = "row") -> None:
        """One progress line on stdout (the plain runner counts it); through Pipes, a log line every 5 s."""
        print(PROGRESS_PREFIX + json.dumps({"done": done, "total": total, "unit": unit}), flush=True)
        now = time.monotonic()
        if self.pipes is not None and (now - self._last_log >= 5 or done == total):
            self._last_log = now
            self.pipes.log.info(f"{done}/{total} {unit}s")

    def report(self, **metadata: Any) -> None:
        self.metadata.update(metadata)

    def finish(self) -> None:
        """result.json (atomically: the runner reads it only after exit) and, through Pipes, the metadata."""
        tmp = self.work / (RESULT + ".tmp")
        tmp.write_text(json.dumps(self.metadata, default=str))
        tmp.replace(self.work / RESULT)
        if self.pipes is not None:
            self.pipes.report_custom_message({"metadata": self.metadata})


@contextlib.contextmanager
def session(argv: list[str] | None = None) -> Iterator[Session]:
    """The launch's Session; through Dagster Pipes when the launcher opened a Pipes context."""
    argv = sys.argv if argv is None else argv
    if os.environ.get(STDERR_COPY):
        sys.stderr = _Tee(sys.stderr, os.environ[STDERR_COPY])
    if len(argv) != 2:
        print(f"usage: {argv[0]} <work>/request.json", file=sys.stderr)
        raise SystemExit(2)
    if os.environ.get("DAGSTER_PIPES_CONTEXT"):
        pipes_module = need("dagster_pipes")
        with pipes_module.open_dagster_pipes() as pipes:
            s = Session(argv[1], pipes)
            yield s
            s.finish()
    else:
        s = Session(argv[1])
        yield s
        s.finish()


def serve_requests(handle: Callable[[Session], None], argv: list[str] | None = None) -> None:
    """`handle` each request: the one named in argv (one-shot), or with `--worker` every request path read from
    stdin, one per line, in one process (models loaded by `handle` stay loaded between requests) through one
    Pipes connection when the launcher opened one."""
    argv = sys.argv if argv is None else argv
    if len(argv) != 2 or argv[1] != WORKER_FLAG:
        with session(argv) as s:
            handle(s)
        return
    with contextlib.ExitStack() as stack:
        pipes = None
        if os.environ.get("DAGSTER_PIPES_CONTEXT"):
            pipes = stack.enter_context(need("dagster_pipes").open_dagster_pipes())
        for line in sys.stdin:
            path = line.strip()
            if not path:
                continue
            s = Session(path, pipes)
            handle(s)
            s.finish()
            print(DONE_PREFIX + json.dumps({"request": path}), file=sys.stderr, flush=True)
            print(REPLY_PREFIX + json.dumps({"request": path}), flush=True)


def batched(fn: Callable[[int, int], Any], n: int, size: int, on_done: Callable[[int], None]) -> list[Any]:
    """fn(start, stop) over rows [0, n) in micro-batches of `size`; on an out-of-memory error (torch's
    OutOfMemoryError, by name: this module imports no torch) the size halves and the slice is retried."""
    out, start = [], 0
    while start < n:
        stop = min(n, start + size)
        try:
            out.append(fn(start, stop))
        except Exception as exc:  # only out-of-memory is retried, recognised by its class name
            if type(exc).__name__ != "OutOfMemoryError" or size == 1:
                raise
            size //= 2
            continue
        start = stop
        on_done(stop)
    return out


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Records of a JSON-lines file; a last line cut by a killed writer is ignored."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return rows
