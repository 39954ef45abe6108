"""The Dagster side of unibind_core.encoders.external: external scripts launched through Dagster Pipes.

`PipesRunner` satisfies unibind_core.encoders.external.runner.Runner with `dg.PipesSubprocessClient` and the asset's
context, so a script's `dagster_pipes` log lines land in the run's event log as they happen and the metadata it
reports is added to the asset's materialization (`external/<env>/<key>`, numbers summed over the launches of
one step). `run_stage` installs it with `using_runner` for every asset, the way it installs progress reporting.
Jobs with a worker key go to long-lived workers (unibind_core/encoders/external/worker.py), each with a Pipes session of
its own opened before it starts and closed after it ends, at the end of the step (`using_runner` closes us).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg

from unibind_core.encoders.external.runner import (
    RESULT,
    STDERR_TAIL,
    ExternalJob,
    ExternalResult,
    failure,
    read_result,
    require_interpreter,
)
from unibind_core.encoders.external.scripts.pipes_io import STDERR_COPY
from unibind_core.encoders.external.worker import WorkerPool

STDERR_FILE = "stderr.log"
LAST_VALUE = ("dim", "rows_per_s", "images_per_s", "device", "model", "kind", "model_loads", "pid")  # not summed


class PipesRunner:
    """Runs an ExternalJob as a Pipes subprocess of the current asset step."""

    def __init__(self, context: dg.OpExecutionContext, client: dg.PipesSubprocessClient | None = None) -> None:
        self.context = context
        self.client = client or dg.PipesSubprocessClient()
        self.totals: dict[str, Any] = {}
        self.launches: dict[str, int] = {}
        self.workers = WorkerPool(opener=self._pipes_session)

    def close(self) -> None:
        """End the step's workers (their Pipes sessions close after them)."""
        self.workers.close()

    @contextmanager
    def _pipes_session(self, job: ExternalJob) -> Iterator[Mapping[str, str]]:
        with dg.open_pipes_session(
            context=self.context,
            context_injector=dg.PipesTempFileContextInjector(),
            message_reader=dg.PipesTempFileMessageReader(),
            extras={"env": job.env, "script": job.script},
        ) as session:
            yield session.get_bootstrap_env_vars()

    def run(self, job: ExternalJob) -> ExternalResult:
        if job.worker_key is not None:  # a request to the step's worker: its metadata comes in result.json
            result = self.workers.request(job)
            self._add_metadata(job.env, result.metadata, launched=False)
            return result
        require_interpreter(job.env, job.python)
        job.write_request()
        for name in (RESULT, STDERR_FILE):
            (job.work / name).unlink(missing_ok=True)
        env = {"PYTHONUNBUFFERED": "1", STDERR_COPY: str(job.work / STDERR_FILE), **job.extra_env}
        try:
            invocation = self.client.run(
                context=self.context,
                command=job.command(),
                env=env,
                cwd=str(job.work),
                extras={"env": job.env, "script": job.script},
            )
        except Exception as exc:  # DagsterPipesExecutionError is not public: recognised by its message
            code = re.search(r"process failed with code (-?\d+)", str(exc))
            if code is None:
                raise
            raise failure(job, int(code.group(1)), _tail(job.work / STDERR_FILE)) from exc
        for message in invocation.get_custom_messages():
            if isinstance(message, dict) and isinstance(message.get("metadata"), dict):
                self._add_metadata(job.env, message["metadata"])
        return read_result(job)

    def _add_metadata(self, env: str, meta: dict[str, Any], launched: bool = True) -> None:
        """Sum the numbers over the step's calls; `launches` counts processes (one-shot launches and workers)."""
        self.launches[env] = self.launches.get(env, 0) + launched
        for key, value in meta.items():
            name = f"external/{env}/{key}"
            summable = isinstance(value, (int, float)) and not isinstance(value, bool) and key not in LAST_VALUE
            self.totals[name] = self.totals.get(name, 0) + value if summable else value
        self.totals[f"external/{env}/launches"] = self.launches[env] + self.workers.started[env]
        self.totals[f"external/{env}/requests"] = self.totals.get(f"external/{env}/requests", 0) + 1
        outputs = [
            o.name for o in self.context.op_def.output_defs
        ]  # a sharded asset's assemble op also has check outputs
        where = {"output_name": "result"} if len(outputs) > 1 and "result" in outputs else {}
        self.context.add_output_metadata({k: v for k, v in self.totals.items() if v is not None}, **where)


def _tail(path: Path) -> list[str]:
    return path.read_text(errors="replace").splitlines()[-STDERR_TAIL:] if path.is_file() else []
