"""What pinning the numeric environment costs: the demo's kernels, pinned (AVX2, 2 threads) vs native.

    .venv/bin/python bench/numeric_env_cost.py [--repeats 3]

Each measurement is a fresh process (the kernels are chosen when the libraries load) that pre-trains the
demo encoders of three modalities on random inputs of loader-like shapes and embeds 512 texts with
MiniLM; the modes alternate, and the medians of wall and CPU seconds are printed (CPU seconds are the
steadier figure on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORK = """
import json, os, time
import unibind_core
import numpy as np, torch
from unibind_core.encoders.backbone.pretrain import ModalityData, PretrainConfig, pretrain_demo_encoders
from unibind_core.encoders.text.minilm import MiniLMEncoder
names = [f"c{i}" for i in range(10)]
g = torch.Generator().manual_seed(0)
labels = tuple(names[i % 10] for i in range(512))
data = {"image": ModalityData(torch.rand(512, 1, 32, 32, generator=g), labels),
        "audio": ModalityData(torch.rand(512, 8000, generator=g), labels),
        "point": ModalityData(torch.rand(512, 512, 3, generator=g), labels)}
text = {n: np.random.default_rng(i).standard_normal(384).astype(np.float32) for i, n in enumerate(names)}
enc = MiniLMEncoder(device="cpu")
start, cpu = time.perf_counter(), time.process_time()
pretrain_demo_encoders(data, text, PretrainConfig(epochs_anchor=4, epochs_bind=4))
enc.encode([f"a photo of the number {i}, drawn with a thick stroke." for i in range(512)])
print(json.dumps({"wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu,
                  "capability": torch.backends.cpu.get_cpu_capability(), "threads": torch.get_num_threads()}))
"""


def measure(mode: str) -> dict:
    env = {**os.environ, "UNIBIND_NUMERIC_ENV": mode, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", WORK], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    opts = parser.parse_args()
    runs: dict[str, list[dict]] = {"native": [], "pinned": []}
    for _ in range(opts.repeats):
        for mode in runs:
            runs[mode].append(measure(mode))
    for mode, rs in runs.items():
        print(
            f"{mode:6s} ({rs[0]['capability']}, {rs[0]['threads']} threads): median wall "
            f"{statistics.median(r['wall_s'] for r in rs):.1f} s, "
            f"CPU {statistics.median(r['cpu_s'] for r in rs):.1f} s "
            f"over {len(rs)} runs"
        )


if __name__ == "__main__":
    main()
