"""A second, independent measurement of one model-side stage: GNU time's rusage of a fresh interpreter.

bench/table_scale.py reads VmHWM from /proc inside the stage's process and times the call itself; this runs
`/usr/bin/time -v python -c "<the stage as the asset calls it>"` on inputs a table_scale.py --workdir left and
reports the kernel's maximum resident set size and user + system seconds of the whole process (imports
included), with the numeric-environment variables the child saw. Where the two disagree, one of them is wrong.

    .venv/bin/python bench/stage_time.py --workdir /work/s3 --stage stage_head --aligners "" [--epochs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

STAGE_MODULES = {
    "stage_centres": "unibind_core.stages.centres",
    "stage_head": "unibind_core.stages.heads",
    "stage_evaluation": "unibind_core.stages.evaluation",
}

_CODE = """
import unibind_core, os, json
from pathlib import Path
from unibind_core.core.settings import Settings
import importlib
s = Settings(data_root=Path({root!r}), k={k}, head_epochs={epochs}, compare_aligners={aligners!r})
getattr(importlib.import_module({module!r}), {stage!r})(s, "imagenet1k")
print("ENV " + json.dumps({{k: v for k, v in os.environ.items() if k.startswith(("OMP_", "OPENBLAS", "MKL_"))}}))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workdir", type=Path, required=True, help="a bench/table_scale.py --workdir")
    p.add_argument("--stage", default="stage_head", choices=("stage_centres", "stage_head", "stage_evaluation"))
    p.add_argument("--aligners", default="", help="compare_aligners (default: none, LCL alone)")
    p.add_argument("--k", type=int, default=50)
    p.add_argument("--epochs", type=int, default=1, help="head epochs (run 1 and 2: the difference is one epoch)")
    a = p.parse_args()
    root = a.workdir / "this tree"
    code = _CODE.format(
        root=str(root), k=a.k, aligners=a.aligners, stage=a.stage, epochs=a.epochs, module=STAGE_MODULES[a.stage]
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        ["/usr/bin/time", "-v", sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT
    )
    if out.returncode:
        raise SystemExit(out.stderr[-2000:])
    field = dict(line.strip().rsplit(": ", 1) for line in out.stderr.splitlines() if ": " in line)
    rss_gib = int(field["Maximum resident set size (kbytes)"]) / 2**20
    cpu = float(field["User time (seconds)"]) + float(field["System time (seconds)"])
    child_env = next((json.loads(line[4:]) for line in out.stdout.splitlines() if line.startswith("ENV ")), {})
    print(
        json.dumps(
            {
                "stage": a.stage,
                "aligners": a.aligners,
                "epochs": a.epochs,
                "max_rss_gib": round(rss_gib, 2),
                "cpu_s": round(cpu, 1),
                "wall": field["Elapsed (wall clock) time (h:mm:ss or m:ss)"],
                "env": child_env,
            }
        )
    )


if __name__ == "__main__":
    main()
