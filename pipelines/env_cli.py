"""`unibind env`: create and list the external environments (unibind_core/encoders/external/envs.py).

`unibind env create NAME` builds `<venv root>/NAME` with its pins (uv when on PATH, else venv + pip);
`make env-NAME` runs it. `--dry-run` prints the commands instead.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import typer

from unibind_core.encoders.external.envs import DEFAULT_VENV_ROOT, ENVIRONMENTS, create_env, plan, venv_python

env_app = typer.Typer(add_completion=False, help="External environments for models with clashing pins.")

ROOT_HELP = "Folder of the environments (default: UNIBIND_VENV_ROOT, else .venvs)."


def _root(root: Path | None) -> Path:
    return root or Path(os.environ.get("UNIBIND_VENV_ROOT", DEFAULT_VENV_ROOT))


@env_app.command("create")
def create(
    name: str = typer.Argument(..., help=f"One of: {', '.join(ENVIRONMENTS)}."),
    venv_root: Path = typer.Option(None, help=ROOT_HELP),
    python: str = typer.Option(None, help="Base interpreter (default: the one running unibind)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the commands, run nothing."),
) -> None:
    """Create (or update) one external environment with its pins and dagster-pipes."""
    ENVIRONMENTS.require(name)
    root = _root(venv_root)
    if dry_run:
        for cmd in plan(name, root, python or sys.executable, None):
            typer.echo(shlex.join(cmd))
        typer.echo("# then dagster-pipes for the environment's Python (1.13.27 on >= 3.10)")
        return
    py = create_env(name, root, python)
    typer.echo(f"environment {name} ready: {py}")


@env_app.command("list")
def list_envs(venv_root: Path = typer.Option(None, help=ROOT_HELP)) -> None:
    """Each environment, what it is for, and whether it exists under the venv root."""
    root = _root(venv_root)
    for name in ENVIRONMENTS:
        spec, py = ENVIRONMENTS[name], venv_python(root, name)
        typer.echo(f"{name:<13} {'ready' if py.is_file() else 'missing':<8} {py}  ({spec.purpose})")
