"""The external environments: one virtual environment per model family whose pins clash with ours.

Each `EnvSpec` lists what its scripts need, pinned so that the resolution checked when it was written
(docs/architecture.md, External environments) stays reproducible; `create_env` builds
`<venv root>/<name>` with uv when it is on PATH, else `python -m venv` + pip. The venv root is the option
`external.venv_root` (env `UNIBIND_VENV_ROOT`, default `.venvs` in the working directory).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from unibind_core.core.errors import ConfigError
from unibind_core.core.options import option
from unibind_core.core.registry import Registry

DEFAULT_VENV_ROOT = ".venvs"

# dagster-pipes per Python of the environment: 1.13 needs >= 3.10, 1.12.1 runs on 3.9, 1.8.13 on 3.8
PIPES_PINS = ((3, 10, "dagster-pipes==1.13.27"), (3, 9, "dagster-pipes==1.12.1"), (3, 8, "dagster-pipes==1.8.13"))


@dataclass(frozen=True)
class ExternalConfig:
    """Where the external environments live and how their scripts run."""

    venv_root: str = option(
        DEFAULT_VENV_ROOT,
        "folder holding one virtual environment per external model family "
        "(languagebind, imagebind, lavis), created by `make env-<name>`",
        env="UNIBIND_VENV_ROOT",
    )

    def python(self, env: str) -> Path:
        """The interpreter of environment `env` (it may not exist yet: the runner says how to create it)."""
        return venv_python(Path(self.venv_root), env)


@dataclass(frozen=True)
class EnvSpec:
    """A virtual environment's pins and what it is for; `python` is the interpreter version it was checked on."""

    name: str
    requirements: tuple[str, ...]
    purpose: str
    python: str = "3.11"
    no_deps: tuple[str, ...] = ()  # installed after `requirements` with --no-deps: their declared deps are not needed


ENVIRONMENTS: Registry[EnvSpec] = Registry(
    "external environment",
    {
        "languagebind": EnvSpec(
            "languagebind",
            (
                # what the script imports of the package (its modality submodules, not its root: that imports
                # pytorchvideo, decord and cv2; docs/architecture.md, External environments): transformers 4.45.2, the
                # newest whose CLIPVisionEmbeddings takes the audio tower's non-square input (4.46 raises on it), with
                # the peft of its time (0.14+ reads torch.distributed.tensor without importing it), pillow and
                # torchvision for processing_image/thermal's transforms, torchaudio for the fbank; our torch pair
                "languagebind==0.1.0",
                "transformers==4.45.2",
                "peft==0.13.2",
                "einops>=0.8",
                "torch==2.14.1",
                "torchvision==0.29.1",
                "torchaudio==2.11.1",
                "pillow",
                "numpy",
            ),
            "LanguageBind backbone (one space for image, video, audio, thermal, depth): transformers<4.46",
        ),
        "imagebind": EnvSpec(
            "imagebind",
            (
                # what imagebind.models imports (timm >= 0.9 for timm.layers; einops is not declared) and our
                # torch pair (shared with the main environment, so the wheels come from one cache); torchaudio for
                # the kaldi fbank of imagebind.data.waveform2melspec
                "torch==2.14.1",
                "torchvision==0.29.1",
                "torchaudio==2.11.1",
                "timm>=0.9",
                "ftfy",
                "regex",
                "iopath",
                "einops",
                "numpy",
            ),
            "ImageBind backbone (vision, text, audio, depth, thermal): only unofficial packages",
            # its declared deps are what only imagebind.data needs: pytorchvideo 0.1.5 (imports torchvision's
            # functional_tensor, gone in 0.17), decord (wheels only, none for arm64), pandas;
            # the script does not import imagebind.data (docs/architecture.md, External environments)
            no_deps=("imagebind-unofficial==0.1.1",),
        ),
        "lavis": EnvSpec(
            "lavis",
            (
                # opencv-python-headless 4.5.5.64 (pinned by LAVIS) is built against numpy 1.x
                "salesforce-lavis==1.0.2",
                "transformers>=4.25,<4.27",
                "numpy<2",
            ),
            "LAVIS BLIP-2 captioner (blip2_opt): transformers<4.27",
        ),
    },
)


def setup_command(name: str) -> str:
    """The documented command that creates environment `name`."""
    return f"make env-{name}  (or: unibind env create {name})"


def venv_python(root: Path, name: str) -> Path:
    """`<root>/<name>/bin/python` (Scripts\\python.exe on Windows)."""
    sub = ("Scripts", "python.exe") if sys.platform == "win32" else ("bin", "python")
    return Path(root).expanduser() / name / sub[0] / sub[1]


def pipes_pin(version: tuple[int, int]) -> str:
    """The newest dagster-pipes that runs on Python `version`."""
    for major, minor, pin in PIPES_PINS:
        if version >= (major, minor):
            return pin
    raise ConfigError(f"dagster-pipes needs Python >= 3.8; the environment has {version[0]}.{version[1]}")


def installer(root: Path, name: str, uv: str | None) -> list[str]:
    """The install command prefix for environment `name` (uv pip or the environment's own pip)."""
    py = venv_python(root, name)
    return [uv, "pip", "install", "--python", str(py)] if uv else [str(py), "-m", "pip", "install"]


def plan(name: str, root: Path, python: str, uv: str | None) -> list[list[str]]:
    """The commands that create `<root>/<name>` and install its pins (dagster-pipes is added by `create_env`
    once the interpreter's version is known)."""
    spec, target = ENVIRONMENTS[name], Path(root).expanduser() / name
    create = [uv, "venv", "--python", python, str(target)] if uv else [python, "-m", "venv", str(target)]
    upgrade = [] if uv else [[*installer(root, name, uv), "--upgrade", "pip"]]
    alone = [[*installer(root, name, uv), "--no-deps", *spec.no_deps]] if spec.no_deps else []
    return [create, *upgrade, [*installer(root, name, uv), *spec.requirements], *alone]


def create_env(
    name: str,
    root: Path,
    python: str | None = None,
    use_uv: bool | None = None,
    run: Callable[[list[str]], None] | None = None,
) -> Path:
    """Create (or update) environment `name` under `root`; returns its interpreter. `python` is the base
    interpreter (default: the one running us); `use_uv` None means "when uv is on PATH"."""
    ENVIRONMENTS.require(name)
    uv = shutil.which("uv") if use_uv is not False else None
    if use_uv and not uv:
        raise ConfigError("uv was asked for but is not on PATH (pip install uv, or leave --uv off)")
    run = run or (lambda cmd: subprocess.run(cmd, check=True))
    commands = plan(name, root, python or sys.executable, uv)
    for cmd in commands:
        run(cmd)
    py = venv_python(root, name)
    out = subprocess.run(
        [str(py), "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True, check=True
    )
    version = tuple(int(v) for v in out.stdout.split())
    run([*installer(root, name, uv), pipes_pin((version[0], version[1]))])
    return py
