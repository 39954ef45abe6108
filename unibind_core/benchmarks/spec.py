"""The benchmark registry: every benchmark the pipeline knows, by partition key.

Partitions of the Dagster assets are keyed from a profile's list of names here; adding a benchmark
is adding an entry, never a branch.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from unibind_core.registry import Registry


@dataclass(frozen=True)
class TrainSpec:
    """Head fine-tuning hyper-parameters (METHOD.md §3 lists the paper's per-dataset values)."""

    batch_size: int = 128
    lr: float = 1e-3
    epochs: int = 20


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str  # partition key
    modality: str  # key of MODALITIES
    reader: str  # key of READERS
    root: str  # dataset folder, relative to the datasets directory
    demo_writer: str | None = None  # key of demo WRITERS when the demo world builds this dataset
    prompt_noun: str = "photo"  # "A {noun} of a {class}" wording for descriptions and templates
    paired_benchmark: str | None = None  # benchmark that `paired_path` points into
    reader_options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    loader_options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    train: TrainSpec = TrainSpec()


def _demo(name: str, modality: str, fmt: str, root: str, noun: str, **kw: Any) -> BenchmarkSpec:
    return BenchmarkSpec(name=name, modality=modality, reader=fmt, root=f"demo/{root}", demo_writer=fmt,
                         prompt_noun=noun, train=TrainSpec(batch_size=128, lr=1e-3, epochs=15), **kw)


BENCHMARKS: Registry[BenchmarkSpec] = Registry(
    "benchmark",
    {
        # The demo world (DESIGN.md): digits in the formats of Caltech-101, N-Caltech101, ESC-50,
        # ModelNet40 (pre-sampled text variant), UCF-101 and LLVIP.
        "demo_image": _demo("demo_image", "image", "caltech101", "caltech101", "photo",
                            loader_options=MappingProxyType({"size": 16, "channels": 1})),
        "demo_event": _demo("demo_event", "event", "ncaltech101", "ncaltech101", "event camera recording",
                            paired_benchmark="demo_image",
                            loader_options=MappingProxyType({"size": 32})),
        "demo_audio": _demo("demo_audio", "audio", "esc50", "esc50", "sound",
                            loader_options=MappingProxyType({"sample_rate": 8000, "num_samples": 4000})),
        "demo_pointcloud": _demo("demo_pointcloud", "point", "modelnet40_resampled", "modelnet40", "3D model",
                                 loader_options=MappingProxyType({"num_points": 256})),
        "demo_video": _demo("demo_video", "video", "ucf101", "ucf101", "video",
                            loader_options=MappingProxyType({"frames": 4, "size": 16, "channels": 1})),
        "demo_thermal": _demo("demo_thermal", "thermal", "llvip", "llvip", "thermal image",
                              loader_options=MappingProxyType({"size": 16, "channels": 1})),
    },
)

PROFILES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"demo": ("demo_image", "demo_event", "demo_audio", "demo_pointcloud", "demo_video", "demo_thermal")}
)


def profile_benchmarks(profile: str) -> tuple[str, ...]:
    if profile not in PROFILES:
        raise KeyError(f"unknown profile {profile!r}; known: {', '.join(sorted(PROFILES))}")
    return PROFILES[profile]
