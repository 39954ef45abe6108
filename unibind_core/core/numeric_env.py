"""One numeric environment on every x86-64 machine: the same kernels, so the same figures.

PyTorch, NumPy and FAISS each pick their CPU kernels by the instruction set they find (AVX-512 here,
AVX2 on a machine without it) and by a few environment variables a workplace may set
(`OPENBLAS_CORETYPE`, ...). Different kernels round differently; the demo pre-trains encoders and trains
heads, so a last-bit difference in one matrix product grows into a different figure
(docs/method.md, Reproducibility). `apply()` pins every library to its AVX2 code path, which every
x86-64 CPU since 2013 (Haswell, Zen 1) runs, and fixes the intra-op thread count; it must run before
NumPy, PyTorch or FAISS load their kernels, so `unibind_core/__init__.py` calls it first. The kernel
choices are read from environment variables when each library loads, so they also reach every child
process (Dagster's code server and multiprocess steps).

`UNIBIND_NUMERIC_ENV=native` leaves every library its own choice (fastest kernels, figures that differ
between CPU generations). `UNIBIND_NUM_THREADS` fixes the intra-op thread count, on which trained figures
also depend. Its default is 2 in the demo profile (`UNIBIND_PROFILE` unset or `demo`: the README's figures,
checked by the tests, are made with 2) and the libraries' own count in every other profile, where a 2-thread
cap would idle most of a GPU server's cores; set it there to get figures equal across machines.
"""

from __future__ import annotations

import os
import platform
import sys
import warnings
from collections.abc import Mapping

MODE_ENV, THREADS_ENV = "UNIBIND_NUMERIC_ENV", "UNIBIND_NUM_THREADS"
MODES = ("pinned", "native")
DEFAULT_THREADS = 2

# name -> value under "pinned": every library's AVX2 code path (variables read when the library loads).
PINNED: Mapping[str, str] = {
    "ATEN_CPU_CAPABILITY": "avx2",  # PyTorch's own vectorised kernels (reductions, elementwise, softmax)
    "MKL_CBWR": "AVX2,STRICT",  # PyTorch's MKL: conditional numerical reproducibility, AVX2 branch
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # PyTorch's oneDNN (convolutions)
    "DNNL_MAX_CPU_ISA": "AVX2",  # the same, for older oneDNN builds
    "OPENBLAS_CORETYPE": "Haswell",  # NumPy's and FAISS's OpenBLAS: the Haswell (AVX2) kernels
    "FAISS_SIMD_LEVEL": "AVX2",  # FAISS's dynamically dispatched distance kernels
}
# Variables that change kernels or their summation order: recorded whatever the mode.
RECORDED = (
    *PINNED,
    MODE_ENV,
    THREADS_ENV,
    "MKL_ENABLE_INSTRUCTIONS",
    "MKL_NUM_THREADS",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "OPENBLAS_L2_SIZE",
    "OPENBLAS_VERBOSE",
    "FAISS_OPT_LEVEL",
    "CUBLAS_WORKSPACE_CONFIG",
)
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")  # read when each pool starts
_KERNEL_LIBS = ("numpy", "torch", "faiss")
_STATE: dict = {}


def mode(environ: Mapping[str, str] = os.environ) -> str:
    value = environ.get(MODE_ENV, "pinned").strip().lower() or "pinned"
    if value not in MODES:
        raise ValueError(f"{MODE_ENV}={value!r} is not one of {', '.join(MODES)}")
    return value


def threads(environ: Mapping[str, str] = os.environ) -> int | None:
    """The fixed intra-op thread count; None: the libraries' own (a profile other than the demo, unset)."""
    raw = environ.get(THREADS_ENV)
    if raw is None:
        demo = environ.get("UNIBIND_PROFILE", "demo").strip().lower() in ("", "demo")
        return DEFAULT_THREADS if demo else None
    if not raw.strip().isdigit() or int(raw) < 1:
        raise ValueError(f"{THREADS_ENV}={raw!r} is not a whole number of threads, at least 1")
    return int(raw)


def _x86() -> bool:
    return platform.machine().lower() in ("x86_64", "amd64")


def apply() -> dict:
    """Pin kernels and threads for this process and its children (idempotent); returns what was done.
    A library loaded before this ran keeps its own kernels: a warning and reproducibility.json
    (`loaded_before_pinning`) name it."""
    if _STATE:
        return dict(_STATE)
    chosen, n = mode(), threads()
    late = sorted(m for m in _KERNEL_LIBS if m in sys.modules)
    wanted: dict[str, str] = {}
    if chosen == "pinned":
        wanted = {name: str(n) for name in THREAD_VARS} if n is not None else {}
        if _x86():
            wanted.update(PINNED)
    overridden = {k: os.environ[k] for k, v in wanted.items() if os.environ.get(k, v) != v}
    os.environ.update(wanted)
    if (
        chosen == "pinned" and n is not None and "torch" in sys.modules
    ):  # loaded first: its kernels stay, its threads follow
        sys.modules["torch"].set_num_threads(n)
    if chosen == "pinned" and late:
        warnings.warn(
            f"{', '.join(late)} loaded before unibind_core: their kernels are not pinned, so figures may "
            f"differ between machines (import unibind_core first; docs/method.md, Reproducibility)",
            stacklevel=2,
        )
    _STATE.update(
        mode=chosen, threads=n if chosen == "pinned" else None, pinned=wanted, overridden=overridden, late=late
    )
    return dict(_STATE)


def cpu_record() -> dict:
    """CPU model and the instruction-set flags kernels dispatch on (Linux /proc/cpuinfo; else platform)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and model in ("", platform.machine(), platform.processor()):
                    model = value.strip()
                elif key.strip() in ("flags", "Features"):
                    flags = set(value.split())
                    break
    except OSError:
        pass
    wanted = sorted(f for f in flags if f.startswith(("avx", "sse4", "fma", "amx", "asimd", "sve")))
    return {"model": model, "machine": platform.machine(), "cores": os.cpu_count(), "flags": wanted}


def record() -> dict:
    """The numeric environment of this process: mode, CPU, kernel libraries and their chosen kernels,
    threads, the variables that steer them. Imports the libraries (they are loaded by then anyway)."""
    import faiss
    import numpy as np
    import torch
    from threadpoolctl import threadpool_info

    pools = [
        {
            "library": os.path.basename(p["filepath"]),
            "api": p["internal_api"],
            "version": p.get("version"),
            "kernels": p.get("architecture"),
            "threads": p["num_threads"],
        }
        for p in threadpool_info()
    ]
    config = getattr(faiss, "SIMDConfig", None)
    return {
        "mode": _STATE.get("mode", mode()),
        "pinned": _STATE.get("pinned", {}),
        "overridden": _STATE.get("overridden", {}),
        "loaded_before_pinning": _STATE.get("late"),
        "cpu": cpu_record(),
        "torch": {
            "version": torch.__version__,
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "threads": torch.get_num_threads(),
            "mkl": torch.backends.mkl.is_available(),
            "mkldnn": torch.backends.mkldnn.is_available(),
        },
        "numpy": np.__version__,
        "faiss": {"version": faiss.__version__, "simd": config.get_level_name() if config is not None else None},
        "thread_pools": pools,
        "environment": {k: os.environ[k] for k in RECORDED if k in os.environ},
    }
