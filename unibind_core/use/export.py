"""A benchmark's bound model as one self-contained folder (`unibind export`), and loading it back.

The folder holds what `predict` needs and nothing of the data root: the head (safetensors), the centres
and class list (Parquet), the template classifiers exactly as the evaluation built them, the backbone
settings and id (a local weights file, e.g. the demo encoders, is copied in), the knowledge-base hash,
the benchmark's results beside the paper, and a model card (README.md) with provenance and licences.
Loading rebuilds the evaluation's `Classifiers` from it bit for bit, so predictions match the data root's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc

from unibind_core.core.errors import ConfigError
from unibind_core.core.settings import Settings
from unibind_core.data.benchmarks.manifest import ClassInfo
from unibind_core.encoders.backbone.select import backbone_choice, backbone_id, space_id
from unibind_core.evaluation.evaluate import Classifiers
from unibind_core.stages.common import artifact_version
from unibind_core.storage.io import file_hash, write_bytes
from unibind_core.storage.tables import CENTRES, CLASS_VECTORS, CLASSES, COMPARISON, EVALUATIONS, Classifier
from unibind_core.use.predict import BoundModel, bound_model, require_benchmark

MODEL_JSON, HEAD, CENTRES_FILE, CLASSES_FILE, TEMPLATES_FILE = (
    "model.json",
    "head.safetensors",
    "centres.parquet",
    "classes.parquet",
    "templates.parquet",
)
RESULTS_FILE, EVALUATIONS_FILE, WEIGHTS_DIR = "results.parquet", "evaluations.parquet", "backbone"
FORMAT = 1

# Licences of the weights by backbone name; a backbone not listed points to its upstream model card.
WEIGHT_LICENCES = {
    "demo": "trained by this pipeline on the synthetic demo world (scikit-learn's digits); the project's licence",
    "imagebind": "CC-BY-NC 4.0 (Meta's ImageBind weights): non-commercial use only, and so is this model",
    "languagebind": "MIT (LanguageBind weights); check the model card of each modality's checkpoint",
}
# Dataset terms by benchmark (or its reader); others: the dataset's own terms at its source.
DATASET_LICENCES = {
    "esc50": "CC BY-NC 3.0 (ESC-50): non-commercial",
    "caltech101": "CC BY 4.0 (Caltech-101)",
    "imagenet1k": "ImageNet terms of access: non-commercial research and education only",
}
_DEMO = "synthetic demo world rendered from scikit-learn's 8x8 digits (UCI Optical Recognition of Handwritten Digits)"


def _local_weights(s: Settings, modality: str) -> Path | None:
    """The backbone's weights when they are one local file (copied into the folder), else None (a hub id,
    pretrained tag or model folder the other machine must have). The demo backbone's default is the
    demo_backbone asset's file."""
    choice = backbone_choice(s, modality)
    ref = choice.weights or (str(s.layout.backbone) if choice.name == "demo" else None)
    return Path(ref) if ref and Path(ref).is_file() else None


def _backbone_record(s: Settings, modality: str, weights_copy: str | None) -> dict[str, Any]:
    choice = backbone_choice(s, modality)
    return {
        "backbone": choice.name,
        "backbone_model": choice.model,
        "backbone_weights": weights_copy if weights_copy is not None else choice.weights,
        "weights_copied": weights_copy is not None,
        "views": asdict(s.views),
        "text_encoder": s.text_encoder,
        "text_model": s.text_model,
        "profile": s.profile,
    }


def _git_commit() -> str:
    try:
        return (
            subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=10
            ).stdout.strip()
            or "unknown"
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def export_model(s: Settings, bench: str, out: Path, aligner: str | None = None) -> Path:
    """Write the benchmark's bound model (primary head unless `aligner`) into `out`; -> out. Every input
    must exist (an error names the asset to materialize), and nothing is written before they all do."""
    model = bound_model(s, bench, aligner)
    lay = s.layout
    comparison_path = lay.results_dir / "paper_comparison.parquet"
    comparison = COMPARISON.read(comparison_path, filter=pc.field("benchmark") == bench)
    evaluations = EVALUATIONS.read(lay.evaluation(bench))
    kb_version = artifact_version(lay.kb(bench)) if lay.kb(bench).is_file() else None
    weights = _local_weights(s, model.modality)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model.head, out / HEAD)
    shutil.copyfile(CENTRES.require(lay.centres(bench)), out / CENTRES_FILE)
    shutil.copyfile(CLASSES.require(lay.classes(bench)), out / CLASSES_FILE)
    clf = model.classifiers
    n = clf.n_classes
    CLASS_VECTORS.write(
        CLASS_VECTORS.table(
            {
                "kind": [str(Classifier.TEMPLATES)] * n + [str(Classifier.SINGLE_TEMPLATE)] * n,
                "class_index": np.tile(np.arange(n, dtype=np.int32), 2),
            },
            np.concatenate([clf.templates, clf.single_template]),
        ),
        out / TEMPLATES_FILE,
    )
    COMPARISON.write(comparison, out / RESULTS_FILE)
    EVALUATIONS.write(evaluations, out / EVALUATIONS_FILE)
    weights_copy = None
    if weights is not None:
        (out / WEIGHTS_DIR).mkdir(exist_ok=True)
        weights_copy = f"{WEIGHTS_DIR}/{weights.name}"
        shutil.copyfile(weights, out / weights_copy)
    record = {
        "format": FORMAT,
        "benchmark": bench,
        "modality": model.modality,
        "classes": n,
        "backbone_id": model.backbone_id,
        "space": space_id(s, model.modality),
        "backbone_settings": _backbone_record(s, model.modality, weights_copy),
        "loader_options": model.loader_options,
        "aligner": aligner or s.aligner,
        "k": int(pc.max(CENTRES.read(out / CENTRES_FILE, ["k"])["k"]).as_py()),  # as localized, not as configured now
        "centre_ranking": s.centre_ranking,
        "knowledge_base": {"version": kb_version, "describer": s.describer},
        "hashes": {f: file_hash(out / f) for f in (HEAD, CENTRES_FILE, CLASSES_FILE, TEMPLATES_FILE)},
        "git_commit": _git_commit(),
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_bytes((json.dumps(record, indent=2, sort_keys=True) + "\n").encode(), out / MODEL_JSON)
    write_bytes(model_card(record, comparison).encode(), out / "README.md")
    return out


def model_card(record: dict, comparison) -> str:
    """The README.md of an exported folder: what it is, where it came from, its licences and results."""
    from unibind_core.data.benchmarks.spec import BENCHMARKS
    from unibind_core.evaluation.results import to_markdown

    bench, b = record["benchmark"], record["backbone_settings"]
    spec = BENCHMARKS[bench]
    data = (
        _DEMO
        if spec.demo_writer
        else DATASET_LICENCES.get(
            bench, DATASET_LICENCES.get(spec.reader, ("see the dataset's own terms at its source"))
        )
    )
    weights = WEIGHT_LICENCES.get(
        b["backbone"],
        f"see the upstream model card of {b['backbone_model'] or b['backbone']}"
        f" / {b['backbone_weights'] or 'default weights'}",
    )
    shown = comparison.drop_columns(["note"]) if comparison.num_rows else None
    return "\n".join(
        [
            f"# UniBind bound model: {bench} ({record['modality']})",
            "",
            f"Classifies {record['modality']} files into the {record['classes']} classes of `{bench}` with UniBind's "
            "embedding centres (or the CLIP templates), zero-shot or through the fine-tuned head:",
            "",
            "    unibind predict --model <this folder> FILES...",
            "",
            "## Provenance",
            "",
            f"- backbone id `{record['backbone_id']}` (space `{record['space']}`), backbone `{b['backbone']}`, model "
            f"`{b['backbone_model']}`, weights `{b['backbone_weights']}`"
            + (
                " (copied into this folder)" if b["weights_copied"] else " (not copied: the loading machine needs them)"
            ),
            f"- head: aligner `{record['aligner']}`; centres: k = {record['k']}, ranking `{record['centre_ranking']}`",
            f"- knowledge base version `{record['knowledge_base']['version']}`, describer "
            f"`{record['knowledge_base']['describer']}`",
            f"- code commit `{record['git_commit']}`, exported {record['exported_at']}",
            "",
            "## Licences",
            "",
            f"- weights: {weights}",
            f"- data (`{bench}`): {data}",
            "- the centres and templates are texts embedded by the backbone's text tower: they carry its licence",
            "",
            "## Results on the benchmark beside the paper (percent)",
            "",
            to_markdown(shown, digits=2) if shown is not None else "(no paper row for this benchmark)",
            "",
            f"`{EVALUATIONS_FILE}` has every evaluation row (settings, classifiers, protocols, folds).",
            "",
        ]
    )


def _check_backbone(folder: Path, record: dict, expect: str | None) -> None:
    """`expect` (a backbone name or a full id) must name the folder's backbone."""
    if expect is None:
        return
    stored, name = record["backbone_id"], record["backbone_settings"]["backbone"]
    if expect != stored and expect != name:
        raise ConfigError(
            f"model folder {folder} was bound with backbone {stored!r} ({name}), not {expect!r}: "
            "its centres and head live in that backbone's space; export the benchmark again with "
            f"backbone {expect!r} or load it without --backbone"
        )


def load_model(
    folder: Path, expect_backbone: str | None = None, device: str = "auto", batch_size: int = 256
) -> BoundModel:
    """The BoundModel of an exported folder; refuses a folder of another backbone than `expect_backbone`,
    and one whose backbone (as configured in it) no longer has the id it was exported with."""
    folder = Path(folder).resolve()
    meta = folder / MODEL_JSON
    if not meta.is_file():
        raise FileNotFoundError(f"{folder} is not an exported model (no {MODEL_JSON}): write one with unibind export")
    record = json.loads(meta.read_text())
    _check_backbone(folder, record, expect_backbone)
    bench = record["benchmark"]
    require_benchmark(bench)
    b = dict(record["backbone_settings"])
    if b.pop("weights_copied"):
        b["backbone_weights"] = str(folder / b["backbone_weights"])
    s = Settings.from_mapping(
        {**b, "data_root": str(folder), "backbone_per_modality": "", "device": device, "batch_size": batch_size}
    )
    found = backbone_id(s, record["modality"])
    if found != record["backbone_id"]:
        raise ConfigError(
            f"model folder {folder}: its backbone now has id {found!r}, but the model was exported "
            f"with {record['backbone_id']!r} (different weights): export it again"
        )
    rows, centres = CENTRES.read_vectors(folder / CENTRES_FILE, ("class_index",))
    vec_rows, vectors = CLASS_VECTORS.read_vectors(folder / TEMPLATES_FILE, ("kind",))
    kinds = np.asarray(vec_rows["kind"].to_pylist())
    clf = Classifiers(
        vectors[kinds == Classifier.TEMPLATES],
        vectors[kinds == Classifier.SINGLE_TEMPLATE],
        centres,
        rows["class_index"].to_numpy(),
    )
    classes = [
        ClassInfo(r["class_index"], r["class_key"], r["class_name"])
        for r in CLASSES.read(folder / CLASSES_FILE).to_pylist()
    ]
    return BoundModel(bench, record["modality"], classes, clf, folder / HEAD, s, record["loader_options"], found)
