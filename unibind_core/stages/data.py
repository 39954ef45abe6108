"""Data-side stages: the demo world, manifests, the demo backbone, frozen features."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from unibind_core.backbone.select import features_key_parts, load_backbone, space_id
from unibind_core.backbone.demo import save_encoders
from unibind_core.backbone.pretrain import ModalityData, pretrain_demo_encoders
from unibind_core.benchmarks.build import build_manifest, dataset_root
from unibind_core.benchmarks.spec import profile_benchmarks
from unibind_core.checks import check_vectors
from unibind_core.demo.world import build_dataset
from unibind_core.embed import embed_texts
from unibind_core.features import DecodedInputs, cached_inputs, embed_inputs, features_table, inputs_key
from unibind_core.io import INPUTS_KEY, SPACE_KEY, content_hash, file_hash, table_hash, write_bytes
from unibind_core.settings import Settings
from unibind_core.stages import StageResult
from unibind_core.stages.common import is_current, read_manifest, spec_of
from unibind_core.text import configured_text_encoder, configured_text_encoder_id
from unibind_core.tables import CLASSES, DECODE_QUARANTINE, FEATURES, MANIFEST, QUARANTINE, Split
from unibind_core.templates import single_template

WORLD_VERSION = "1"  # bump when a demo writer changes what it writes
WORLD_STAMP = "unibind_world.json"


def _world_intact(root: Path, key: str) -> bool:
    """The stamp matches and every file it lists still has its recorded hash (repairs lost files)."""
    try:
        stamp = json.loads((root / WORLD_STAMP).read_text())
        return stamp["key"] == key and all(file_hash(root / p) == h for p, h in stamp["files"].items())
    except (OSError, ValueError, KeyError):
        return False


def _stamp_world(root: Path, key: str) -> int:
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != WORLD_STAMP and not p.name.startswith("."))
    record = {"key": key, "files": {str(p.relative_to(root)): file_hash(p) for p in files}}
    write_bytes(json.dumps(record).encode(), root / WORLD_STAMP)
    return len(files)


def stage_world(s: Settings) -> StageResult:
    """Write every demo dataset of the profile, skipping the ones already intact on disk."""
    max_per_class = s.demo_max_per_class
    built, counts = [], {}
    for bench in profile_benchmarks(s.profile):
        spec = spec_of(bench)
        if spec.demo_writer is None:
            continue
        root = s.layout.datasets / spec.root
        key = content_hash(WORLD_VERSION, spec.demo_writer, str(s.seed), str(max_per_class))
        if not _world_intact(root, key):
            build_dataset(spec.demo_writer, root, s.seed, max_per_class)
            built.append(bench)
        counts[bench] = _stamp_world(root, key)
    version = content_hash(*(file_hash(s.layout.datasets / spec_of(b).root / WORLD_STAMP) for b in counts))
    return StageResult(version, {"datasets": len(counts), "rebuilt": ", ".join(built) or "none", "files": counts},
                       reused=not built)


def stage_manifest(s: Settings, bench: str) -> StageResult:
    spec = spec_of(bench)
    manifest = build_manifest(spec, s.layout.datasets, s.reader_overrides().get(bench))
    lay = s.layout
    MANIFEST.write(manifest.table, lay.manifest(bench))
    CLASSES.write(manifest.classes, lay.classes(bench))
    QUARANTINE.write(manifest.quarantine, lay.quarantine(bench))
    version = content_hash(table_hash(manifest.table), table_hash(manifest.classes))
    per_class = {r["values"]: r["counts"] for r in pc.value_counts(manifest.table["class_name"]).to_pylist()}
    return StageResult(version, {"samples": manifest.table.num_rows, "classes": manifest.classes.num_rows,
                                 "splits": manifest.split_counts(), "per_class": per_class,
                                 "quarantined": manifest.quarantine.num_rows, "reader": spec.reader,
                                 "missing_classes": len(manifest.missing),
                                 "missing_class_keys": manifest.missing_summary() or "none",
                                 "root": str(dataset_root(spec, lay.datasets))}, row_count=manifest.table.num_rows)


@dataclass(frozen=True)
class _Inputs:
    """A benchmark's manifest and the key of its decoded inputs (one stat per file, taken once)."""

    bench: str
    root: Path
    manifest: pa.Table
    key: str

    @classmethod
    def of(cls, s: Settings, bench: str) -> _Inputs:
        spec, manifest = spec_of(bench), read_manifest(s, bench)
        root = dataset_root(spec, s.layout.datasets)
        return cls(bench, root, manifest, inputs_key(spec, root, manifest))

    def decode(self, s: Settings) -> DecodedInputs:
        return cached_inputs(spec_of(self.bench), self.root, self.manifest, s.layout.input_cache,
                             key=self.key)


def _train_data(s: Settings, inputs: _Inputs) -> tuple[str, ModalityData]:
    decoded = inputs.decode(s)
    rows = decoded.rows(inputs.manifest)
    train = np.asarray(pc.equal(rows["split"], Split.TRAIN.value))
    names = tuple(np.asarray(rows["class_name"].to_pylist())[train])
    return spec_of(inputs.bench).modality, ModalityData(decoded.inputs[np.flatnonzero(train)], names)


def stage_backbone(s: Settings) -> StageResult:
    """Pre-train the demo encoders image-centrically on the training splits of the profile's benchmarks."""
    benches = [b for b in profile_benchmarks(s.profile) if spec_of(b).demo_writer]
    inputs = [_Inputs.of(s, b) for b in benches]
    key = content_hash(*(i.key for i in inputs), configured_text_encoder_id(s), json.dumps(s.pretrain.__dict__, sort_keys=True))
    path = s.layout.backbone
    if is_current(path, key):
        return StageResult(file_hash(path), {"path": str(path), "inputs_key": key}, reused=True)
    data = {}
    for bench_inputs in inputs:
        modality, md = _train_data(s, bench_inputs)
        if modality in data:
            raise ValueError(f"the demo backbone trains one encoder per modality; {modality} appears twice")
        data[modality] = md
    names = sorted(set(data["image"].class_names)) if "image" in data else []
    prompts = [single_template("photo", n) for n in names]
    vectors, _ = embed_texts(prompts, configured_text_encoder(s), s.layout.text_cache)  # the demo's space
    model, losses = pretrain_demo_encoders(data, dict(zip(names, vectors)), s.pretrain)
    save_encoders(model, path, extra={INPUTS_KEY: key, "losses": json.dumps(losses)})
    return StageResult(file_hash(path), {"path": str(path), "modalities": sorted(data), "final_losses": losses,
                                         "train_samples": {m: len(d.class_names) for m, d in data.items()}})


def stage_features(s: Settings, bench: str) -> StageResult:
    """Frozen backbone features of every sample (train/eval/test), computed once per inputs, backbone id
    (name, model, weights hash) and view options; stamped with their embedding space."""
    spec, inputs = spec_of(bench), _Inputs.of(s, bench)
    model_id, options = features_key_parts(s, spec.modality)
    key = content_hash(inputs.key, model_id, options)
    out = s.layout.features(bench)
    if is_current(out, key):
        return StageResult(file_hash(out), {"path": str(out)}, reused=True, row_count=FEATURES.num_rows(out),
                           checks={"vectors_valid": check_vectors(FEATURES, out)})
    decoded = inputs.decode(s)
    backbone = load_backbone(s, spec.modality)
    vectors = embed_inputs(backbone, spec.modality, decoded.inputs, s.batch_size, meta=dict(spec.loader_options))
    FEATURES.write(features_table(decoded.rows(inputs.manifest), vectors), out, inputs_key=key,
                   stamps={SPACE_KEY: space_id(s, spec.modality)})
    DECODE_QUARANTINE.write(DECODE_QUARANTINE.table(
        {"path": [f["path"] for f in decoded.failures], "reason": [f["reason"] for f in decoded.failures]}),
        s.layout.decode_quarantine(bench))
    return StageResult(file_hash(out), {"path": str(out), "samples": len(vectors), "dim": int(vectors.shape[1]),
                                        "backbone": backbone.name, "backbone_id": backbone.id,
                                        "decode_failures": len(decoded.failures),
                                        "first_decode_failures": decoded.failures[:5]},
                       checks={"vectors_valid": check_vectors(FEATURES, out, backbone.dim, just_written=True)}, row_count=len(vectors))
