"""Data-side stages: the demo world, manifests, the demo backbone, frozen features."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from unibind_core.core.code_versions import code_version
from unibind_core.core.modality import Modality
from unibind_core.core.settings import Settings
from unibind_core.data.benchmarks.build import build_manifest, dataset_root
from unibind_core.data.benchmarks.spec import profile_benchmarks
from unibind_core.demo.world import build_dataset
from unibind_core.encoders.backbone.demo import save_encoders
from unibind_core.encoders.backbone.pretrain import ModalityData, pretrain_demo_encoders
from unibind_core.encoders.text import configured_text_encoder, configured_text_encoder_id
from unibind_core.knowledge.templates import single_template
from unibind_core.knowledge.text_cache import embed_texts
from unibind_core.stages import StageResult
from unibind_core.stages.common import reusable, spec_of
from unibind_core.stages.features import BenchmarkInputs, stage_features  # noqa: F401  (re-exported: a data-side stage)
from unibind_core.storage.io import INPUTS_KEY, content_hash, file_hash, report_unreadable, table_hash, write_bytes
from unibind_core.storage.tables import CLASSES, MANIFEST, QUARANTINE, Split

WORLD_STAMP = "unibind_world.json"


def _world_intact(root: Path, key: str) -> bool:
    """The stamp matches and every file it lists still has its recorded hash (repairs lost files)."""
    try:
        stamp = json.loads((root / WORLD_STAMP).read_text())
        return stamp["key"] == key and all(file_hash(root / p) == h for p, h in stamp["files"].items())
    except FileNotFoundError:  # never built, or a listed file lost: rebuilt
        return False
    except (OSError, ValueError, KeyError) as exc:
        report_unreadable(root / WORLD_STAMP, exc, "rebuilding the dataset")
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
        key = content_hash(code_version("world"), spec.demo_writer, str(s.seed), str(max_per_class))
        if s.refresh or not _world_intact(root, key):
            build_dataset(spec.demo_writer, root, s.seed, max_per_class)
            built.append(bench)
        counts[bench] = _stamp_world(root, key)
    version = content_hash(*(file_hash(s.layout.datasets / spec_of(b).root / WORLD_STAMP) for b in counts))
    return StageResult(
        version, {"datasets": len(counts), "rebuilt": ", ".join(built) or "none", "files": counts}, reused=not built
    )


def stage_manifest(s: Settings, bench: str) -> StageResult:
    spec = spec_of(bench)
    manifest = build_manifest(spec, s.layout.datasets, s.reader_overrides().get(bench))
    lay = s.layout
    MANIFEST.write(manifest.table, lay.manifest(bench))
    CLASSES.write(manifest.classes, lay.classes(bench))
    QUARANTINE.write(manifest.quarantine, lay.quarantine(bench))
    version = content_hash(table_hash(manifest.table), table_hash(manifest.classes))
    per_class = {r["values"]: r["counts"] for r in pc.value_counts(manifest.table["class_name"]).to_pylist()}
    return StageResult(
        version,
        {
            "samples": manifest.table.num_rows,
            "classes": manifest.classes.num_rows,
            "splits": manifest.split_counts(),
            "per_class": per_class,
            "quarantined": manifest.quarantine.num_rows,
            "reader": spec.reader,
            "missing_classes": len(manifest.missing),
            "missing_class_keys": manifest.missing_summary() or "none",
            "root": str(dataset_root(spec, lay.datasets)),
        },
        row_count=manifest.table.num_rows,
    )


def _train_data(s: Settings, inputs: BenchmarkInputs) -> tuple[str, ModalityData]:
    decoded = inputs.decode(s)
    rows = decoded.rows(inputs.manifest)
    train = np.asarray(pc.equal(rows["split"], Split.TRAIN.value))
    names = tuple(np.asarray(rows["class_name"].to_pylist())[train])
    return spec_of(inputs.bench).modality, ModalityData(decoded.inputs[np.flatnonzero(train)], names)


def stage_backbone(s: Settings) -> StageResult:
    """Pre-train the demo encoders image-centrically on the training splits of the profile's benchmarks."""
    benches = [b for b in profile_benchmarks(s.profile) if spec_of(b).demo_writer]
    inputs = [BenchmarkInputs.of(s, b) for b in benches]
    key = content_hash(
        *(i.key for i in inputs),
        configured_text_encoder_id(s),
        json.dumps(s.pretrain.__dict__, sort_keys=True),
        code_version("demo_backbone"),
    )
    path = s.layout.backbone
    if reusable(s, path, key):
        return StageResult(file_hash(path), {"path": str(path), "inputs_key": key}, reused=True)
    data = {}
    for bench_inputs in inputs:
        modality, md = _train_data(s, bench_inputs)
        if modality in data:
            raise ValueError(f"the demo backbone trains one encoder per modality; {modality} appears twice")
        data[modality] = md
    names = sorted(set(data[Modality.IMAGE].class_names)) if Modality.IMAGE in data else []
    prompts = [single_template("photo", n) for n in names]
    vectors, _ = embed_texts(
        prompts,
        configured_text_encoder(s),
        s.layout.text_cache,  # the demo's space
        refresh=s.refresh,
    )
    model, losses = pretrain_demo_encoders(data, dict(zip(names, vectors)), s.pretrain)
    save_encoders(model, path, extra={INPUTS_KEY: key, "losses": json.dumps(losses)})
    return StageResult(
        file_hash(path),
        {
            "path": str(path),
            "modalities": sorted(data),
            "final_losses": losses,
            "train_samples": {m: len(d.class_names) for m, d in data.items()},
        },
    )
