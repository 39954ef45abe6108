"""Build the demo world: one dataset folder per modality, each in a real benchmark's format.

Captions shipped with the demo go in `unibind_captions.jsonl` at each dataset root (one JSON object per
line: {"path": <file relative to the root>, "caption": ...}); the manifest step attaches them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from unibind_core.core.registry import Registry
from unibind_core.demo.digits import DemoDigits, load_demo_digits
from unibind_core.storage.io import write_bytes

CAPTIONS_FILE = "unibind_captions.jsonl"

# A writer fills `root` with one dataset and returns {relative path: caption}.
Writer = Callable[[Path, DemoDigits, np.random.Generator], Mapping[str, str]]

WRITERS: Registry[Writer] = Registry(
    "demo writer",
    {
        "caltech101": "unibind_core.demo.writers.caltech101:write",
        "ncaltech101": "unibind_core.demo.writers.ncaltech101:write",
        "esc50": "unibind_core.demo.writers.esc50:write",
        "modelnet40_resampled": "unibind_core.demo.writers.modelnet40:write",
        "ucf101": "unibind_core.demo.writers.ucf101:write",
        "llvip": "unibind_core.demo.writers.llvip:write",
    },
)


def write_captions(root: Path, captions: Mapping[str, str]) -> None:
    lines = (json.dumps({"path": p, "caption": c}) for p, c in sorted(captions.items()))
    write_bytes(("\n".join(lines) + "\n").encode("utf-8"), root / CAPTIONS_FILE)


def build_dataset(fmt: str, root: Path, seed: int, max_per_class: int | None = None) -> Path:
    """Write one demo dataset in format `fmt` under `root`, deterministically from `seed`."""
    digits = load_demo_digits(max_per_class)
    rng = np.random.default_rng([seed, sum(map(ord, fmt))])
    root.mkdir(parents=True, exist_ok=True)
    captions = WRITERS[fmt](root, digits, rng)
    write_captions(root, captions)
    return root
