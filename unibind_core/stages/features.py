"""Frozen backbone features, computed shard by shard and assembled into one table per benchmark.

Each shard of the manifest (unibind_core/storage/shards.py) is decoded, embedded and stored as soon as it is done,
so a killed run resumes after the last complete shard and memory holds one shard's decoded inputs, not
the benchmark's. The shards run in this stage's step or, with `fan_out`, one Dagster step each
(`features_shard`); this stage then only assembles them.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pyarrow as pa

from unibind_core.core.code_versions import code_version
from unibind_core.core.progress import track
from unibind_core.core.settings import Settings
from unibind_core.data.benchmarks.build import dataset_root
from unibind_core.data.benchmarks.spec import BenchmarkSpec
from unibind_core.data.decoding import (
    DecodedInputs,
    cached_inputs,
    cached_rows,
    decode_rows,
    embed_inputs,
    features_table,
    inputs_key,
)
from unibind_core.encoders.backbone.select import features_key_parts, load_backbone, loader_options, space_id
from unibind_core.evaluation.checks import check_vectors
from unibind_core.stages import StageResult
from unibind_core.stages.common import item_refresh, read_manifest, reusable, spec_of
from unibind_core.storage.io import SPACE_KEY, content_hash, file_hash
from unibind_core.storage.shards import Shard, ShardFiles, ShardPlan, plan_shards
from unibind_core.storage.tables import DECODE_QUARANTINE, FEATURES


@dataclass(frozen=True)
class BenchmarkInputs:
    """A benchmark's manifest and the key of its decoded inputs (one stat per file, taken once). `spec` is
    the benchmark's, its loader options extended by `extra` (what a backbone's views need, loader_options)."""

    bench: str
    root: Path
    manifest: pa.Table
    key: str
    spec: BenchmarkSpec

    @classmethod
    def of(
        cls, s: Settings, bench: str, extra: Mapping[str, Any] | None = None, key: str | None = None
    ) -> BenchmarkInputs:
        """`key`: the inputs key a plan step already derived (else one stat per file derives it here)."""
        spec, manifest = spec_of(bench), read_manifest(s, bench)
        if extra:
            spec = replace(spec, loader_options=MappingProxyType({**spec.loader_options, **extra}))
        root = dataset_root(spec, s.layout.datasets)
        return cls(bench, root, manifest, key or inputs_key(spec, root, manifest), spec)

    def decode(self, s: Settings) -> DecodedInputs:
        """Every sample, through the decoded-input cache (the demo's pre-training reads them all; `refresh`:
        decoded again and the cache rewritten)."""
        return cached_inputs(self.spec, self.root, self.manifest, s.layout.input_cache, key=self.key, refresh=s.refresh)

    def decode_shard(self, s: Settings, shard: Shard) -> DecodedInputs:
        """The shard's samples: a slice of the decoded-input cache where one exists (and `refresh` is off),
        else their files."""
        cached = (
            None
            if s.refresh
            else cached_rows(self.spec, self.manifest, s.layout.input_cache, self.key, shard.start, shard.stop)
        )
        return cached or decode_rows(self.spec, self.root, self.manifest.slice(shard.start, len(shard)))


@dataclass(frozen=True)
class _FeatureJob:
    """What the features of one benchmark are computed from, and where their shards go."""

    inputs: BenchmarkInputs
    key: str  # inputs + backbone id + view options: the features table's inputs key
    model_id: str
    files: ShardFiles
    shards: list[Shard]

    @classmethod
    def of(cls, s: Settings, bench: str, planned: bool = False) -> _FeatureJob:
        """The job derived from the inputs and settings; `planned`: take the key from the plan step's stored
        ShardPlan when one matches (a fan-out shard step), skipping the stat of every file and the checkpoint hash."""
        modality, folder = spec_of(bench).modality, s.layout.shards("features", bench)
        extra = loader_options(s, modality)  # {} for the default views
        plan = ShardPlan.read(folder, read_manifest(s, bench).num_rows, s.shard_size) if planned else None
        if plan is not None:
            inputs = BenchmarkInputs.of(s, bench, extra, key=plan.facts["inputs_key"])
            key, model_id = plan.key, plan.facts["model_id"]
        else:
            inputs = BenchmarkInputs.of(s, bench, extra)
            model_id, options = features_key_parts(s, modality)
            key = content_hash(inputs.key, model_id, options, code_version("features"))
        files = ShardFiles(folder, key, FEATURES)
        return cls(inputs, key, model_id, files, plan_shards(inputs.manifest.num_rows, s.shard_size))

    def compute(self, s: Settings, shard: Shard) -> None:
        """Decode, embed and store one shard (its decode failures ride along in the shard file)."""
        spec = self.inputs.spec
        backbone = load_backbone(s, spec.modality)
        decoded = self.inputs.decode_shard(s, shard)
        vectors = (
            embed_inputs(backbone, spec.modality, decoded.inputs, s.batch_size, meta=dict(spec.loader_options))
            if len(decoded.inputs)
            else np.empty((0, backbone.dim), np.float32)
        )
        rows = decoded.rows(self.inputs.manifest.slice(shard.start, len(shard)))
        self.files.write(shard, features_table(rows, vectors), {"failures": decoded.failures})


def feature_rows(s: Settings, bench: str) -> int:
    """Rows the features stage shards: the manifest's."""
    return read_manifest(s, bench).num_rows


def plan_features(s: Settings, bench: str) -> list[Shard]:
    """The features' shards, with their key stored for the shard steps (ShardPlan): derived here once.
    Under `refresh` the stored shards are removed first, so the shard steps compute anew (the stored table
    stays until the new one replaces it)."""
    job = _FeatureJob.of(s, bench)
    if s.refresh:
        job.files.remove()
    ShardPlan(
        job.inputs.manifest.num_rows, s.shard_size, job.key, {"inputs_key": job.inputs.key, "model_id": job.model_id}
    ).write(job.files.root)
    return job.shards


def features_shard(s: Settings, bench: str, start: int, stop: int) -> dict:
    """Compute one shard of the features (a fan-out step); a shard already stored is not recomputed."""
    job, shard = _FeatureJob.of(s, bench, planned=True), Shard(start, stop)
    if shard not in job.shards:
        raise ValueError(
            f"{bench}: rows [{start}, {stop}) are not a shard of the current plan "
            f"(shard_size {s.shard_size}, {job.inputs.manifest.num_rows} rows); re-plan the run"
        )
    if reusable(s, s.layout.features(bench), job.key):
        return {"rows": len(shard), "computed": False, "reason": "features already assembled"}
    if job.files.done(shard):
        return {"rows": len(shard), "computed": False}
    t0 = time.perf_counter()
    job.compute(s, shard)
    return {"rows": len(shard), "computed": True, "seconds": round(time.perf_counter() - t0, 3)}


def _peak_rss_gib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)  # ru_maxrss: KiB on Linux


def stage_features(s: Settings, bench: str) -> StageResult:
    """Frozen backbone features of every sample (train/eval/test), computed once per inputs, backbone id
    (name, model, weights hash) and view options; stamped with their embedding space."""
    job = _FeatureJob.of(s, bench)
    out = s.layout.features(bench)
    if reusable(s, out, job.key):
        return StageResult(
            file_hash(out),
            {"path": str(out)},
            reused=True,
            row_count=FEATURES.num_rows(out),
            checks={"vectors_valid": check_vectors(FEATURES, out)},
        )
    t0 = time.perf_counter()
    fresh = item_refresh(s).refresh  # under refresh without fan-out every shard is computed here
    todo = [shard for shard in job.shards if fresh or not job.files.done(shard)]
    for shard in track(todo, f"features {bench}", unit="shard"):
        job.compute(s, shard)
    seconds = time.perf_counter() - t0
    failures = [f for shard in job.shards for f in job.files.facts(shard)["failures"]]
    samples = FEATURES.write_stream(
        job.files.tables(job.shards), out, inputs_key=job.key, stamps={SPACE_KEY: space_id(s, spec_of(bench).modality)}
    )
    if not samples:
        out.unlink()
        first = failures[0] if failures else {"path": "-", "reason": "the manifest is empty"}
        raise ValueError(f"{bench}: no sample could be decoded (first {first['path']}: {first['reason']})")
    DECODE_QUARANTINE.write(
        DECODE_QUARANTINE.table({"path": [f["path"] for f in failures], "reason": [f["reason"] for f in failures]}),
        s.layout.decode_quarantine(bench),
    )
    job.files.remove()
    dim = FEATURES.dim(out)
    return StageResult(
        file_hash(out),
        {
            "path": str(out),
            "samples": samples,
            "dim": dim,
            "backbone": job.model_id,
            "backbone_id": job.model_id,
            "shards": len(job.shards),
            "shards_computed_here": len(todo),
            "shards_reused": len(job.shards) - len(todo),
            **({"samples_per_s": round(sum(len(x) for x in todo) / seconds, 1)} if todo and seconds > 0 else {}),
            "peak_rss_gib": _peak_rss_gib(),
            "decode_failures": len(failures),
            "first_decode_failures": failures[:5],
        },
        checks={"vectors_valid": check_vectors(FEATURES, out, dim, just_written=True)},
        row_count=samples,
    )
