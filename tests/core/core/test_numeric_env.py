"""One numeric environment whatever the machine asks for: the kernels and threads core/numeric_env.py pins.

"Another machine" is emulated by the variables that steer the libraries' kernel choice (a workplace may
set OPENBLAS_CORETYPE or OMP_NUM_THREADS; an AVX2-only CPU picks the AVX2 kernels that pinning picks). Each
case runs in a fresh process, because the choice is made when the libraries load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

# A few steps of training through the kernels the demo uses (convolution, matrix products, reductions,
# AdamW), then a NumPy matrix product: hashes of the bytes, so one last-bit difference shows.
_PROBE = """
import hashlib, json, sys
import unibind_core  # pins first, as every entry point does
import numpy as np, torch
from unibind_core.core import numeric_env
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
                          torch.nn.Linear(16 * 64, 32), torch.nn.LayerNorm(32), torch.nn.Linear(32, 10))
opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
x, y = torch.randn(256, 1, 8, 8), torch.randint(0, 10, (256,))
for _ in range(15):
    loss = torch.nn.functional.cross_entropy(net(x), y)
    opt.zero_grad(); loss.backward(); opt.step()
h = hashlib.sha256(b"".join(p.detach().numpy().tobytes() for p in net.parameters()))
a = np.random.default_rng(0).standard_normal((200, 300), dtype=np.float32)
rec = numeric_env.record()
print(json.dumps({"torch": h.hexdigest(), "numpy": hashlib.sha256((a @ a.T).tobytes()).hexdigest(), "record": rec}))
"""
# What another machine (or its workplace) may ask for: other kernels, other thread counts.
ELSEWHERE = {
    "ATEN_CPU_CAPABILITY": "default",
    "ONEDNN_MAX_CPU_ISA": "ALL",
    "OPENBLAS_CORETYPE": "Zen",
    "FAISS_SIMD_LEVEL": "NONE",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def _probe(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in {"UNIBIND_NUMERIC_ENV", "UNIBIND_NUM_THREADS", *ELSEWHERE}}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE],
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _flags() -> set[str]:
    try:
        return {
            f
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("flags")
            for f in line.split(":", 1)[1].split()
        }
    except OSError:
        return set()


x86_avx2 = pytest.mark.skipif("avx2" not in _flags(), reason="the pinned kernels are x86-64 AVX2 ones")


@pytest.mark.slow  # trainings in fresh processes: ~15 s
@x86_avx2
def test_pinned_training_is_bitwise_equal_whatever_the_machine_asks_for_and_native_is_not():
    here, elsewhere = _probe(), _probe(**ELSEWHERE)
    assert (here["torch"], here["numpy"]) == (elsewhere["torch"], elsewhere["numpy"])
    rec = elsewhere["record"]
    assert rec["mode"] == "pinned" and rec["torch"]["cpu_capability"] == "AVX2" and rec["torch"]["threads"] == 2
    assert rec["faiss"]["simd"] == "AVX2" or rec["faiss"]["simd"] is None
    assert {p["kernels"] for p in rec["thread_pools"] if p["api"] == "openblas"} <= {"Haswell"}
    assert rec["overridden"]["OPENBLAS_CORETYPE"] == "Zen" and rec["overridden"]["OMP_NUM_THREADS"] == "1"
    assert rec["loaded_before_pinning"] == []
    # Without pinning an AVX-512 machine trains other weights than the AVX2 kernels pinned ones (which an
    # AVX2-only machine takes anyway): why the demo's figures differed between machines.
    native = _probe(UNIBIND_NUMERIC_ENV="native")
    assert native["record"]["mode"] == "native" and native["record"]["pinned"] == {}
    if "avx512f" in _flags():
        assert native["torch"] != here["torch"] and native["numpy"] != here["numpy"]


def test_a_bad_mode_or_thread_count_is_one_line_naming_the_variable():
    from unibind_core.core import numeric_env

    with pytest.raises(ValueError, match="UNIBIND_NUMERIC_ENV='fast' is not one of pinned, native"):
        numeric_env.mode({"UNIBIND_NUMERIC_ENV": "fast"})
    with pytest.raises(ValueError, match="UNIBIND_NUM_THREADS='0' is not a whole number"):
        numeric_env.threads({"UNIBIND_NUM_THREADS": "0"})
    assert numeric_env.threads({}) == 2 and numeric_env.mode({}) == "pinned"
    assert numeric_env.threads({"UNIBIND_PROFILE": "paper"}) is None  # the libraries' own count outside the demo
    assert numeric_env.threads({"UNIBIND_PROFILE": "paper", "UNIBIND_NUM_THREADS": "8"}) == 8


def test_a_library_loaded_before_unibind_core_is_named_in_a_warning_and_the_record():
    code = (
        "import numpy, warnings\nwarnings.simplefilter('always')\nimport unibind_core\n"
        "from unibind_core.core import numeric_env\nprint(numeric_env.apply()['late'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "['numpy']" and "numpy loaded before unibind_core" in out.stderr
