"""Wall time of the main command (full demo, fresh data root and instance) and of a rerun with nothing changed.

    .venv/bin/python bench/demo_wall_time.py [--max-per-class N]

Prints the two wall times and the results table. Uses a temporary DAGSTER_HOME and data root so it
never touches ./data or ./dagster_home.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(args: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-per-class", type=int, default=None)
    opts = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="unibind-bench-"))
    home, data = tmp / "dagster_home", tmp / "data"
    home.mkdir()
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    cmd = [str(Path(sys.executable).with_name("unibind")), "demo", "--data-root", str(data)]
    if opts.max_per_class:
        cmd += ["--max-per-class", str(opts.max_per_class)]
    first = run(cmd, env)
    second = run(cmd, env)
    print(f"cores: {os.cpu_count()}")
    print(f"main command, fresh:           {first:7.1f} s")
    print(f"main command, nothing changed: {second:7.1f} s")
    print()
    print((data / "results" / "results.md").read_text())
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
