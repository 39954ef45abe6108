"""Long-lived external script processes: one per environment and model, fed requests over its stdin.

A job with a `worker_key` (the embedding scripts: loading ImageBind or LanguageBind takes far longer than
embedding one batch) is not a launch of its own: the runner hands it to the `Worker` of its (environment,
script, interpreter, key), started on first use as `<python> <script> --worker`. Each request is the same
work folder and request.json a one-shot launch gets; its path goes to the worker as one line on stdin, and
the worker answers with the outputs, result.json and `@reply {...}` on stdout (scripts/pipes_io.py). A
failing request ends the worker, and the error is the one a failed launch raises (`failure`: the exit code,
the environment and the tail of its stderr). `WorkerPool.close` ends them all: the runner's owner closes it
at the end of the step (`using_runner`), so no model outlives the step that loaded it.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, ExitStack, nullcontext
from contextvars import Context, copy_context
from typing import IO, Any

from unibind_core.core.progress import Tracker, note
from unibind_core.encoders.external.runner import (
    PROGRESS_PREFIX,
    RESULT,
    STDERR_TAIL,
    ExternalJob,
    ExternalResult,
    failure,
    read_result,
    require_interpreter,
)
from unibind_core.encoders.external.scripts.pipes_io import DONE_PREFIX, REPLY_PREFIX, WORKER_FLAG

CLOSE_WAIT_S = 30.0  # a worker told to stop (stdin closed) gets this long before it is killed
DRAIN_WAIT_S = 30.0  # after a reply, how long its request's last stderr lines may lag behind on their own pipe
Opener = Callable[[ExternalJob], AbstractContextManager[Mapping[str, str]]]  # -> extra environment of a worker


class Worker:
    """One `<python> <script> --worker` process. Its stdout and stderr are read by two threads: progress lines
    become Tracker steps and other lines notes (in the context of the request being served), replies are
    queued for `request`, the last STDERR_TAIL stderr lines are kept for the error."""

    def __init__(self, job: ExternalJob, extra_env: Mapping[str, str] | None = None) -> None:
        require_interpreter(job.env, job.python)
        self.env, self.script = job.env, job.script
        self.task = f"{job.env}: {job.script}"
        job.work.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [str(job.python), str(job.script_path), WORKER_FLAG],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            env={**job.environ(), **(extra_env or {})},
            cwd=job.work.parent,
        )
        self.tail: deque[str] = deque(maxlen=STDERR_TAIL)
        self.replies: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.drained: queue.Queue[str | None] = queue.Queue()  # requests whose stderr lines are all read
        self.context: Context = copy_context()
        self.lock = threading.Lock()  # one request at a time: replies come in the order of the requests
        self.threads = [
            threading.Thread(target=self._read_stdout, args=(self.proc.stdout,), daemon=True),
            threading.Thread(target=self._read_stderr, args=(self.proc.stderr,), daemon=True),
        ]
        for t in self.threads:
            t.start()

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def request(self, job: ExternalJob, timeout_s: float | None = None) -> ExternalResult:
        """Serve `job` (its request.json written here); raises the launch's own errors when the worker dies."""
        with self.lock:
            return self._request(job, timeout_s)

    def _request(self, job: ExternalJob, timeout_s: float | None) -> ExternalResult:
        job.write_request()
        (job.work / RESULT).unlink(missing_ok=True)
        self.context = copy_context()  # this caller's progress listener gets the lines of this request
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(str(job.request_path) + "\n")
            self.proc.stdin.flush()
        except OSError:  # the worker is gone: its exit code and stderr say why (below)
            pass
        try:
            reply = self.replies.get(timeout=timeout_s)
        except queue.Empty:
            self.proc.kill()
            reply = None
        if reply is None:  # end of its stdout: the process ended
            returncode = self.proc.wait()
            self.threads[1].join()
            raise failure(job, returncode, list(self.tail))
        self._drain(str(job.request_path))
        if reply.get("request") != str(job.request_path):
            raise RuntimeError(
                f"environment {job.env!r}: the {job.script} worker answered {reply.get('request')!r} "
                f"to the request {job.request_path}"
            )
        return read_result(job)

    def _drain(self, request: str) -> None:
        """Wait for the request's `@done` on stderr, so its last log lines reach this caller's listener before
        the step goes on (stdout and stderr are two pipes read by two threads: the reply can come first)."""
        while True:
            try:
                done = self.drained.get(timeout=DRAIN_WAIT_S)
            except queue.Empty:
                return
            if done is None or done == request:
                return

    def close(self) -> None:
        """Close its stdin (the worker exits after its current request) and wait for it; kill it if it hangs."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=CLOSE_WAIT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for t in self.threads:
            t.join(timeout=5)

    def _read_stdout(self, stream: IO[str]) -> None:
        tracker: Tracker | None = None
        for raw in stream:
            line = raw.rstrip("\n")
            if line.startswith(REPLY_PREFIX):
                if tracker is not None:
                    self.context.run(tracker.close)
                    tracker = None
                self.replies.put(json.loads(line[len(REPLY_PREFIX) :]))
            elif line.startswith(PROGRESS_PREFIX):
                try:
                    info = json.loads(line[len(PROGRESS_PREFIX) :])
                except json.JSONDecodeError:
                    self.context.run(note, self.task, line)
                    continue
                if tracker is None:
                    tracker = self.context.run(Tracker, self.task, info.get("total"), info.get("unit", "item"))
                self.context.run(tracker.advance, int(info["done"]) - tracker.done)
            elif line.strip():
                self.context.run(note, self.task, line)
        self.replies.put(None)

    def _read_stderr(self, stream: IO[str]) -> None:
        for raw in stream:
            line = raw.rstrip("\n")
            if line.startswith(DONE_PREFIX):
                try:
                    self.drained.put(json.loads(line[len(DONE_PREFIX) :]).get("request"))
                    continue
                except (json.JSONDecodeError, AttributeError):
                    pass
            self.tail.append(line)
            if line.strip():
                self.context.run(note, self.task, line)
                print(line, file=sys.stderr)
        self.drained.put(None)


class WorkerPool:
    """The workers of one runner, by (environment, script, interpreter, worker key). `opener(job)` is entered
    before a worker starts and left after it ends; what it yields is added to the worker's environment (the
    Pipes runner opens a Pipes session there). `keep`: at most this many workers stay up (the least recently
    used is closed first); None: no limit (the pool is closed at the end of its step)."""

    def __init__(self, opener: Opener | None = None, keep: int | None = None, timeout_s: float | None = None) -> None:
        self.opener: Opener = opener or (lambda job: nullcontext({}))
        self.keep, self.timeout_s = keep, timeout_s
        self.workers: OrderedDict[tuple[str, ...], tuple[Worker, ExitStack]] = OrderedDict()
        self.started: Counter[str] = Counter()  # worker processes started, per environment
        self.last: dict[str, dict[str, Any]] = {}  # the metadata of each environment's latest request
        self.lock = threading.Lock()

    def request(self, job: ExternalJob) -> ExternalResult:
        """`job` served by its worker (started on first use); a worker that fails is closed and dropped."""
        key = (job.env, job.script, str(job.python), str(job.worker_key))
        with self.lock:
            entry = self.workers.get(key)
            if entry is not None and not entry[0].alive:
                self._drop(key)
                entry = None
            if entry is None:
                entry = self._start(job)
                self.workers[key] = entry
            self.workers.move_to_end(key)
            while self.keep is not None and len(self.workers) > self.keep:
                self._drop(next(iter(self.workers)))
        try:
            result = entry[0].request(job, self.timeout_s)
        except BaseException:
            with self.lock:
                if key in self.workers:
                    self._drop(key)
            raise
        self.last[job.env] = result.metadata
        return result

    def close(self) -> None:
        """End every worker (and leave its opener's context)."""
        with self.lock:
            for key in list(self.workers):
                self._drop(key)

    def _start(self, job: ExternalJob) -> tuple[Worker, ExitStack]:
        require_interpreter(job.env, job.python)  # before the opener: a missing environment opens no session
        stack = ExitStack()
        try:
            env = stack.enter_context(self.opener(job))
            worker = Worker(job, env)
        except BaseException:
            stack.close()
            raise
        self.started[job.env] += 1
        return worker, stack

    def _drop(self, key: tuple[str, ...]) -> None:
        worker, stack = self.workers.pop(key)
        try:
            worker.close()
        finally:
            stack.close()
