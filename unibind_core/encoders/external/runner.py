"""Run a script under another interpreter, exchanging data only through files in a work folder.

Models whose pins cannot live beside ours (LanguageBind: transformers<5; LAVIS: transformers<4.27;
ImageBind: unofficial packages) run in their own virtual environment. The library writes the inputs
(.npy arrays, .jsonl records) and `request.json` (the options and the file names) into a work folder,
launches `<python> <script> <work>/request.json`, and reads the outputs back from the same folder. No
pickles and no imports cross the boundary, so the two sides share nothing but file formats.

Who launches the script is a `Runner`, installed for a block of code with `using_runner(...)` (a context
variable, like `progress.reporting`): plain Python and the CLI get `SubprocessRunner`, which streams the
script's output into our progress reporting; a Dagster asset installs a Pipes runner (assets/external.py)
so the script's `dagster_pipes` logs and metadata reach the run's event log.

Script side of the protocol (scripts/pipes_io.py): progress lines `@progress {"done": n, "total": N,
"unit": "row"}` on stdout, free text on stderr, `result.json` with the metadata on success, and exit code
`MISSING_PACKAGE_EXIT` when its own stack is not importable.

A job with a `worker_key` is served by a long-lived worker process instead of a launch of its own
(encoders/external/worker.py): the same request.json and outputs, one model load per worker. A runner's workers end
when `close()` is called; `using_runner` calls it when its block ends (a Dagster step: assets/materialize.py),
and the runner used outside any block is closed when the process exits.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from unibind_core.core.errors import ConfigError
from unibind_core.core.progress import Tracker, note

SCRIPTS = Path(__file__).resolve().parent / "scripts"
REQUEST, RESULT = "request.json", "result.json"
PROGRESS_PREFIX = "@progress "
MISSING_PACKAGE_EXIT = 3  # the script could not import its own stack: the environment is incomplete
PROTOCOL = 1
STDERR_TAIL = 30  # lines of the script's stderr quoted when it fails


class ExternalScriptError(RuntimeError):
    """The external script ran and failed; the message carries the tail of its stderr and the work folder."""


@dataclass(frozen=True)
class ExternalJob:
    """One launch of `script` (a file in SCRIPTS, run by path) under environment `env`.

    `inputs` and `outputs` name files inside `work` (e.g. {"batch": "batch.npy"}); `options` is whatever
    the script needs besides (model, device, micro-batch size). `python` is the interpreter to use.
    `worker_key` (the options that pick the model): served by the long-lived worker of (env, script, python,
    key) rather than launched on its own; None: one launch."""

    env: str
    script: str
    work: Path
    python: Path
    options: Mapping[str, Any] = field(default_factory=dict)
    inputs: Mapping[str, str] = field(default_factory=dict)
    outputs: Mapping[str, str] = field(default_factory=dict)
    extra_env: Mapping[str, str] = field(default_factory=dict)
    worker_key: str | None = None

    @property
    def script_path(self) -> Path:
        return SCRIPTS / self.script

    @property
    def request_path(self) -> Path:
        return self.work / REQUEST

    def write_request(self) -> Path:
        """request.json: the protocol version, the options and the input/output file names."""
        self.work.mkdir(parents=True, exist_ok=True)
        body = {
            "protocol": PROTOCOL,
            "env": self.env,
            "options": dict(self.options),
            "inputs": dict(self.inputs),
            "outputs": dict(self.outputs),
        }
        tmp = self.request_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(body, indent=1, default=str))
        tmp.replace(self.request_path)
        return self.request_path

    def command(self) -> list[str]:
        return [str(self.python), str(self.script_path), str(self.request_path)]

    def environ(self) -> dict[str, str]:
        """The child's environment: ours (HF_HUB_OFFLINE and the like pass through) plus `extra_env`,
        with unbuffered output so progress arrives as it is printed."""
        return {**os.environ, "PYTHONUNBUFFERED": "1", **self.extra_env}


@dataclass(frozen=True)
class ExternalResult:
    """What a finished script left: its work folder and the metadata it reported (result.json)."""

    work: Path
    metadata: dict[str, Any]

    def path(self, name: str) -> Path:
        return self.work / name


class Runner(Protocol):
    """Launches an ExternalJob (or hands it to its worker) and waits for it: raises ExternalScriptError when the
    script fails, ConfigError when its environment is incomplete. A runner with workers also has `close()`."""

    def run(self, job: ExternalJob) -> ExternalResult: ...


def read_result(job: ExternalJob) -> ExternalResult:
    """The metadata the script wrote to result.json (an empty dict if it wrote none)."""
    path = job.work / RESULT
    meta = json.loads(path.read_text()) if path.is_file() else {}
    return ExternalResult(job.work, meta)


def failure(job: ExternalJob, returncode: int, tail: list[str]) -> Exception:
    """The error a failed launch ends in: a ConfigError naming the setup command when the script reported
    a missing package, else an ExternalScriptError quoting the tail of its stderr."""
    from unibind_core.encoders.external.envs import setup_command

    quoted = "\n".join(f"  | {line}" for line in tail) or "  | (no output on stderr)"
    if returncode == MISSING_PACKAGE_EXIT:
        return ConfigError(
            f"environment {job.env!r} ({job.python}) lacks a package the script {job.script} "
            f"needs; (re)create it with `{setup_command(job.env)}`:\n{quoted}"
        )
    return ExternalScriptError(
        f"external script {job.script} (environment {job.env!r}) failed with exit code "
        f"{returncode}; work folder {job.work}; last lines of its stderr:\n{quoted}"
    )


def _forward_stdout(stream: IO[str], task: str) -> None:
    """Progress lines become Tracker steps, other lines notes of our progress reporting."""
    tracker: Tracker | None = None
    for raw in stream:
        line = raw.rstrip("\n")
        if line.startswith(PROGRESS_PREFIX):
            try:
                info = json.loads(line[len(PROGRESS_PREFIX) :])
            except json.JSONDecodeError:
                note(task, line)
                continue
            if tracker is None:
                tracker = Tracker(task, info.get("total"), info.get("unit", "item"))
            tracker.advance(int(info["done"]) - tracker.done)
        elif line.strip():
            note(task, line)
    if tracker is not None:
        tracker.close()


def _forward_stderr(stream: IO[str], task: str, tail: deque[str]) -> None:
    for raw in stream:
        line = raw.rstrip("\n")
        tail.append(line)
        if line.strip():
            note(task, line)
            print(line, file=sys.stderr)


class SubprocessRunner:
    """Runs the script as a child process; its stdout and stderr are streamed, line by line, to the
    installed progress listener (and stderr to ours), so a long model load is visible as it happens. Jobs with
    a `worker_key` go to its `workers` (at most `keep` kept up; None: until `close`)."""

    def __init__(self, timeout_s: float | None = None, keep: int | None = None) -> None:
        from unibind_core.encoders.external.worker import WorkerPool  # it builds on this module

        self.timeout_s = timeout_s
        self.workers = WorkerPool(keep=keep, timeout_s=timeout_s)

    def close(self) -> None:
        self.workers.close()

    def run(self, job: ExternalJob) -> ExternalResult:
        if job.worker_key is not None:
            return self.workers.request(job)
        require_interpreter(job.env, job.python)
        job.write_request()
        (job.work / RESULT).unlink(missing_ok=True)
        task = f"{job.env}: {job.script}"
        proc = subprocess.Popen(
            job.command(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=job.environ(),
            cwd=job.work,
            bufsize=1,
        )
        tail: deque[str] = deque(maxlen=STDERR_TAIL)
        # threads do not inherit context variables: copy ours, so the lines reach the installed listener
        threads = [
            threading.Thread(target=copy_context().run, args=(_forward_stdout, proc.stdout, task)),
            threading.Thread(target=copy_context().run, args=(_forward_stderr, proc.stderr, task, tail)),
        ]
        for t in threads:
            t.start()
        try:
            returncode = proc.wait(timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            returncode = -9
        for t in threads:
            t.join()
        if returncode != 0:
            raise failure(job, returncode, list(tail))
        return read_result(job)


def require_interpreter(env: str, python: Path) -> None:
    """ConfigError naming the setup command when the environment's interpreter does not exist."""
    from unibind_core.encoders.external.envs import setup_command

    if not Path(python).is_file():
        raise ConfigError(
            f"environment {env!r} is not set up: no interpreter at {python}; create it with "
            f"`{setup_command(env)}` (its folder is <external.venv_root>/{env}, option "
            "external.venv_root / UNIBIND_VENV_ROOT)"
        )


_RUNNER: ContextVar[Runner | None] = ContextVar("unibind_external_runner", default=None)
_DEFAULT: list[SubprocessRunner] = []  # the runner used outside any `using_runner` block (made on first use)
DEFAULT_KEEP = 2  # workers the default runner keeps up: it has no step whose end would close them


@contextmanager
def using_runner(runner: Runner | None) -> Iterator[None]:
    """Launch every external script run inside with `runner` (None: the default SubprocessRunner), and close
    the runner's workers when the block ends, normally or on an error."""
    token = _RUNNER.set(runner)
    try:
        yield
    finally:
        _RUNNER.reset(token)
        close = getattr(runner, "close", None)
        if close is not None:
            close()


def current_runner() -> Runner:
    """The installed runner, else the process's default SubprocessRunner (its workers end with the process)."""
    installed = _RUNNER.get()
    if installed is not None:
        return installed
    if not _DEFAULT:
        _DEFAULT.append(SubprocessRunner(keep=DEFAULT_KEEP))
        atexit.register(_DEFAULT[0].close)
    return _DEFAULT[0]
