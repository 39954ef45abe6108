"""A small demo materialized into an on-disk instance, `dagster dev` serving it, headless Chromium.

The browser is the system's Chromium (Debian's `chromium` package) driven by playwright's Python client
through `executable_path`: no browser download, ever.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TINY = dict(
    demo_max_per_class=12,
    descriptions_per_category=12,
    k=4,
    head_epochs=2,
    pretrain={"epochs_anchor": 6, "epochs_bind": 6},
)
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str | None:
    env = os.environ.get("UNIBIND_CHROMIUM")
    if env:
        return env
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def materialize_tiny_demo(home: Path, data_root: Path) -> None:
    """Every asset and partition of a tiny demo into the instance at `home` (the UI then shows runs)."""
    import dagster as dg

    from assets.partitions import BENCHMARKS
    from assets.resources import UnibindResource
    from pipelines.run_all import materialize_all

    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        materialize_all(UnibindResource(data_root=str(data_root), **TINY), instance, BENCHMARKS, log=lambda _: None)


@contextmanager
def dagster_dev(home: Path, data_root: Path, timeout: float = 180.0):
    """`dagster dev` on 127.0.0.1 over the instance at `home`; yields the UI's base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "UNIBIND_DATA_ROOT": str(data_root),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONPATH": str(REPO),
    }
    log = open(home / "dagster_dev.log", "wb")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster"),
            "dev",  # pyproject: location "unibind"
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"dagster dev exited ({proc.returncode}): {(home / 'dagster_dev.log').read_text()[-2000:]}"
                )
            try:
                urllib.request.urlopen(f"{url}/server_info", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"dagster dev did not answer on {url} within {timeout:.0f}s") from None
                time.sleep(1)
        yield url
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
        log.close()
