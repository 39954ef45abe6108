"""The benchmark registry: every benchmark the pipeline knows, by partition key.

Partitions of the Dagster assets are keyed from a profile's list of names here; adding a benchmark
is adding an entry, never a branch.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from collections.abc import Sequence
from typing import Any, Mapping

from unibind_core.core.errors import UnknownNameError
from unibind_core.core.registry import Registry
from unibind_core.core.modality import Modality


@dataclass(frozen=True)
class TrainSpec:
    """Head fine-tuning hyper-parameters (docs/method.md §4 lists the paper's per-dataset values)."""

    batch_size: int = 128
    lr: float = 1e-3
    epochs: int = 20


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str  # partition key
    modality: Modality  # a key of the modality loaders (data/modalities)
    reader: str  # key of READERS
    root: str  # dataset folder, relative to the datasets directory
    demo_writer: str | None = None  # key of demo WRITERS when the demo world builds this dataset
    prompt_noun: str = "photo"  # "A {noun} of a {class}" wording for descriptions and templates
    paired_benchmark: str | None = None  # benchmark that `paired_path` points into
    reader_options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    loader_options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    train: TrainSpec = TrainSpec()
    aliases: tuple[str, ...] = ()  # other folder names of the dataset's distributions (ROOT_ALIASES)
    # A sample the data ships no caption for gets this one ("{class_name}" filled in): your own benchmarks'
    # offline default (data/benchmarks/user.py, docs/method.md "Your own data"); None: it keeps none.
    caption_template: str | None = None

    @property
    def root_names(self) -> tuple[str, ...]:
        """Where under the datasets directory the pipeline looks for this benchmark, in order."""
        return (self.root, *self.aliases)


def _demo(name: str, modality: Modality, fmt: str, root: str, noun: str, **kw: Any) -> BenchmarkSpec:
    return BenchmarkSpec(name=name, modality=modality, reader=fmt, root=f"demo/{root}", demo_writer=fmt,
                         prompt_noun=noun, train=TrainSpec(batch_size=128, lr=1e-3, epochs=15), **kw)


def _paper(name: str, modality: Modality, reader: str, root: str, noun: str, train: TrainSpec, loader: dict[str, Any],
           **reader_options: Any) -> BenchmarkSpec:
    return BenchmarkSpec(name=name, modality=modality, reader=reader, root=root, prompt_noun=noun, train=train,
                         reader_options=MappingProxyType(reader_options),
                         loader_options=MappingProxyType(dict(loader)))


# Loader options for ImageBind-class backbones: 224 px RGB, 16 kHz audio, 8 frames, 224 px event frames.
IMAGE = {"size": 224, "channels": 3}
VIDEO = {"frames": 8, "size": 224, "channels": 3}
EVENT = {"size": 224}  # N-Caltech101: the sensor grid is taken from each recording's extent
ESC50_AUDIO = {"sample_rate": 16000, "num_samples": 80000}  # ESC-50 clips are 5 s
US8K_AUDIO = {"sample_rate": 16000, "num_samples": 64000}  # UrbanSound8K slices are at most 4 s

# The 13 datasets of the paper (the 14th benchmark is Caltech-101 <-> N-Caltech101 retrieval, carried by
# `ncaltech101.paired_benchmark`). TrainSpec: docs/method.md §4 table (batch, lr, epochs).
PAPER = {
    "imagenet1k": _paper("imagenet1k", Modality.IMAGE, "imagenet", "imagenet", "photo", TrainSpec(1024, 5e-4, 15), IMAGE),
    "places365": _paper("places365", Modality.IMAGE, "places365", "places365", "photo", TrainSpec(1024, 5e-5, 20), IMAGE),
    "caltech101": _paper("caltech101", Modality.IMAGE, "caltech101", "caltech101", "photo", TrainSpec(128, 1e-4, 20), IMAGE,
                         classnames="caltech101"),
    "modelnet40": _paper("modelnet40", Modality.POINT, "modelnet40", "modelnet40_normal_resampled", "3D model",
                         TrainSpec(128, 5e-5, 10), {"num_points": 8192}, variant="modelnet40",
                         classnames="modelnet40"),
    "shapenet_part": _paper("shapenet_part", Modality.POINT, "shapenet_part",
                            "shapenetcore_partanno_segmentation_benchmark_v0_normal", "3D model",
                            TrainSpec(128, 5e-5, 10), {"num_points": 1024}),  # files hold ~2,500 points
    "esc50": _paper("esc50", Modality.AUDIO, "esc50", "ESC-50-master", "sound", TrainSpec(64, 1e-4, 10), ESC50_AUDIO,
                    classnames="esc50"),
    "urbansound8k": _paper("urbansound8k", Modality.AUDIO, "urbansound8k", "UrbanSound8K", "sound", TrainSpec(64, 1e-4, 10),
                           US8K_AUDIO),
    "llvip": _paper("llvip", Modality.THERMAL, "llvip", "LLVIP", "thermal image", TrainSpec(64, 1e-3, 20), IMAGE,
                    background_crops=True, classnames="llvip"),
    "rgbt": _paper("rgbt", Modality.THERMAL, "kaist_rgbt", "kaist-rgbt", "thermal image", TrainSpec(64, 5e-3, 20), IMAGE,
                   frame_stride=20),
    "msrvtt": _paper("msrvtt", Modality.VIDEO, "msrvtt", "MSRVTT", "video", TrainSpec(128, 5e-4, 20), VIDEO),
    "ucf101": _paper("ucf101", Modality.VIDEO, "ucf101", "ucf101", "video", TrainSpec(128, 5e-4, 20), VIDEO, split=1,
                     classnames="ucf101"),
    "ncaltech101": BenchmarkSpec(
        name="ncaltech101", modality=Modality.EVENT, reader="ncaltech101", root="ncaltech101",
        prompt_noun="event camera recording", paired_benchmark="caltech101", train=TrainSpec(128, 1e-4, 20),
        reader_options=MappingProxyType({"classnames": "ncaltech101"}), loader_options=MappingProxyType(EVENT)),
    "nimagenet": _paper("nimagenet", Modality.EVENT, "nimagenet", "N_Imagenet", "event camera recording",
                        TrainSpec(1024, 5e-4, 15), {**EVENT, "sensor_size": [640, 480]}),
}

# The folder names the benchmarks' distributions unpack to besides `root`, so a copy kept under its own
# name is found (build.dataset_root takes the first that exists and, if none does, names every one).
ROOT_ALIASES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "imagenet1k": ("imagenet-object-localization-challenge", "ILSVRC2012", "ImageNet", "imagenet1k"),
    "places365": ("places365_standard", "Places365"),
    "caltech101": ("caltech-101", "Caltech101"),
    "modelnet40": ("ModelNet40", "modelnet40_ply_hdf5_2048", "modelnet40"),  # Princeton's meshes, PointNet's HDF5
    "shapenet_part": ("shapenet_part", "shapenetpart"),
    "esc50": ("ESC-50", "esc50"),
    "urbansound8k": ("urbansound8k",),
    "llvip": ("llvip",),
    "rgbt": ("kaist", "KAIST", "kaist_rgbt"),
    "msrvtt": ("msrvtt", "MSR-VTT", "MSRVTT_videos"),
    "ucf101": ("UCF101",),
    "ncaltech101": ("N-Caltech101",),
    "nimagenet": ("N-ImageNet", "nimagenet"),
})
PAPER = {name: replace(spec, aliases=ROOT_ALIASES.get(name, ())) for name, spec in PAPER.items()}

BENCHMARKS: Registry[BenchmarkSpec] = Registry(
    "benchmark",
    {
        **PAPER,
        # The demo world (docs/method.md §6): digits in the formats of Caltech-101, N-Caltech101, ESC-50,
        # ModelNet40 (pre-sampled text variant), UCF-101 and LLVIP.
        "demo_image": _demo("demo_image", Modality.IMAGE, "caltech101", "caltech101", "photo",
                            loader_options=MappingProxyType({"size": 16, "channels": 1})),
        "demo_event": _demo("demo_event", Modality.EVENT, "ncaltech101", "ncaltech101", "event camera recording",
                            paired_benchmark="demo_image",
                            loader_options=MappingProxyType({"size": 32})),
        "demo_audio": _demo("demo_audio", Modality.AUDIO, "esc50", "esc50", "sound",
                            loader_options=MappingProxyType({"sample_rate": 8000, "num_samples": 4000})),
        "demo_pointcloud": _demo("demo_pointcloud", Modality.POINT, "modelnet40_resampled", "modelnet40", "3D model",
                                 loader_options=MappingProxyType({"num_points": 256})),
        "demo_video": _demo("demo_video", Modality.VIDEO, "ucf101", "ucf101", "video",
                            loader_options=MappingProxyType({"frames": 4, "size": 16, "channels": 1})),
        "demo_thermal": _demo("demo_thermal", Modality.THERMAL, "llvip", "llvip", "thermal image",
                              loader_options=MappingProxyType({"size": 16, "channels": 1})),
    },
)

BUILT_IN_PROFILES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"demo": ("demo_image", "demo_event", "demo_audio", "demo_pointcloud", "demo_video", "demo_thermal"),
     "paper": tuple(PAPER)}
)


def _with_user_benchmarks() -> Mapping[str, tuple[str, ...]]:
    """Your own benchmarks (the file UNIBIND_BENCHMARKS names, data/benchmarks/user.py) join the registry and
    form their profile; without the file, the built-in profiles only."""
    from unibind_core.data.benchmarks.user import from_environment

    own = from_environment(BENCHMARKS, BUILT_IN_PROFILES)
    for name, spec in own.specs.items():
        BENCHMARKS.register(name, spec)
    return MappingProxyType({**BUILT_IN_PROFILES, **({own.profile: tuple(own.specs)} if own.specs else {})})


PROFILES: Mapping[str, tuple[str, ...]] = _with_user_benchmarks()


def partners_of(bench: str, benches: Sequence[str]) -> tuple[str, ...]:
    """The benchmarks of `benches` paired with `bench` either way: the one its spec names as
    `paired_benchmark`, and those whose spec names it (N-Caltech101 <-> Caltech-101 both ways)."""
    own = BENCHMARKS[bench].paired_benchmark
    return tuple(b for b in benches if b != bench and (b == own or BENCHMARKS[b].paired_benchmark == bench))


def profile_benchmarks(profile: str) -> tuple[str, ...]:
    if profile not in PROFILES:
        raise UnknownNameError(f"unknown profile {profile!r}; known: {', '.join(sorted(PROFILES))} (your own "
                               "benchmarks' profile needs UNIBIND_BENCHMARKS naming their file)")
    return PROFILES[profile]
