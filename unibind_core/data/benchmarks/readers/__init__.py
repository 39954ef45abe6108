"""Benchmark readers by format name. Each is `read(root: Path, **options) -> ReadResult`.

Entries are imported lazily so a reader's optional dependency (PyAV for video) is only needed when
that format is read.
"""
from __future__ import annotations

from collections.abc import Callable

from unibind_core.data.benchmarks.manifest import ReadResult
from unibind_core.core.registry import Registry

Reader = Callable[..., ReadResult]

READERS: Registry[Reader] = Registry(
    "benchmark reader",
    {
        "caltech101": "unibind_core.data.benchmarks.readers.caltech101:read",
        "ncaltech101": "unibind_core.data.benchmarks.readers.ncaltech101:read",
        "esc50": "unibind_core.data.benchmarks.readers.esc50:read",
        "modelnet40": "unibind_core.data.benchmarks.readers.modelnet40:read",
        "modelnet40_resampled": "unibind_core.data.benchmarks.readers.modelnet40:read",  # the demo world's name
        "ucf101": "unibind_core.data.benchmarks.readers.ucf101:read",
        "llvip": "unibind_core.data.benchmarks.readers.llvip:read",
        "imagenet": "unibind_core.data.benchmarks.readers.imagenet:read",
        "places365": "unibind_core.data.benchmarks.readers.places365:read",
        "shapenet_part": "unibind_core.data.benchmarks.readers.shapenet_part:read",
        "urbansound8k": "unibind_core.data.benchmarks.readers.urbansound8k:read",
        "kaist_rgbt": "unibind_core.data.benchmarks.readers.kaist:read",
        "msrvtt": "unibind_core.data.benchmarks.readers.msrvtt:read",
        "nimagenet": "unibind_core.data.benchmarks.readers.nimagenet:read",
        "folder": "unibind_core.data.benchmarks.readers.folder:read",  # your own data: a folder per class
        "manifest": "unibind_core.data.benchmarks.readers.manifest_file:read",  # your own data: a CSV / JSONL list
    },
)
