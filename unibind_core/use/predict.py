"""Classify new files with what the pipeline learned for a benchmark (`unibind predict`; README,
"Use what it learned").

A `BoundModel` is everything one benchmark's classifiers need: its class list, the evaluation's
`Classifiers` (template vectors, centres), its trained head and the backbone settings of its space. It
comes from a data root (`bound_model`: the stored tables, read as the evaluation reads them) or from an
exported folder (unibind_core/use/export.py). `predict` decodes files as the benchmark's features stage
does (its loader options and the backbone's views), embeds them with the same backbone, passes them
through the head for the fine-tuned setting, and scores them with `Classifiers.scores` / `.predict`, the
functions `evaluate` uses: so a test file's top-1 here is the class the evaluation counted for it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import torch

from unibind_core.core.errors import ConfigError
from unibind_core.core.settings import Settings
from unibind_core.data.benchmarks.manifest import ClassInfo
from unibind_core.data.benchmarks.spec import BENCHMARKS, BenchmarkSpec
from unibind_core.data.decoding import decode_rows, embed_inputs
from unibind_core.encoders.backbone.select import backbone_id, load_backbone, space_id
from unibind_core.encoders.backbone.select import loader_options as view_options
from unibind_core.evaluation.evaluate import Classifiers
from unibind_core.method.aligners.store import load_aligned, project
from unibind_core.storage.io import SPACE_KEY
from unibind_core.storage.tables import FEATURES, PREDICTIONS, Classifier, Setting


@dataclass(frozen=True)
class BoundModel:
    """One benchmark's classifiers and the backbone + head that map its files into their space."""

    benchmark: str
    modality: str
    classes: list[ClassInfo]  # in class_index order
    classifiers: Classifiers
    head: Path | None  # safetensors of the aligner head (the fine-tuned setting); None: zero-shot only
    settings: Settings  # the backbone (and its views) of the benchmark's space
    loader_options: dict[str, Any]  # the benchmark's loader options extended by the backbone's views
    backbone_id: str  # the backbone's id (name + weights fingerprint), checked when loading


@dataclass(frozen=True)
class Predictions:
    """PREDICTIONS rows (one per file and rank) and the files that could not be classified (path, reason)."""

    table: pa.Table
    failures: list[dict]
    top1: np.ndarray  # (N,) predicted class of each classified file, in input order


def require_benchmark(bench: str) -> BenchmarkSpec:
    if bench not in BENCHMARKS:
        raise ConfigError(f"unknown benchmark {bench!r}; known: {', '.join(sorted(BENCHMARKS))}")
    return BENCHMARKS[bench]


def head_path(s: Settings, bench: str, aligner: str | None = None, fold: int | None = None) -> Path:
    """Where the head of (aligner, fold) lives (stages/runs.py decides): the primary fixed-split head by
    default; `fold` selects the head trained with that official fold as its test fold."""
    from unibind_core.stages.runs import HeadRun, fold_protocol

    aligner = aligner or s.aligner
    if aligner not in s.aligner_names():
        raise ConfigError(
            f"{bench}: no head of aligner {aligner!r} is trained (aligners: {', '.join(s.aligner_names())})"
        )
    if fold is None:
        return HeadRun(aligner).path(s, bench)
    cv = fold_protocol(s, bench)
    runs = {} if cv is None else {r.fold: r for r in cv[1]}
    if fold not in runs:
        raise ConfigError(f"{bench} has no fold {fold} head (its folds: {sorted(runs) or 'none, not cross-validated'})")
    from unibind_core.storage.tables import SplitProtocol

    return HeadRun(aligner, SplitProtocol.CROSS_VALIDATION, runs[fold]).path(s, bench)


def bound_model(s: Settings, bench: str, aligner: str | None = None, fold: int | None = None) -> BoundModel:
    """The benchmark's bound model from the data root: the evaluation's classifiers (stages/evaluation.py reads
    them), its class list and head; an error names the asset to materialize when one is missing."""
    from unibind_core.stages.common import read_classes, require_artifact
    from unibind_core.stages.evaluation import benchmark_classifiers

    spec = require_benchmark(bench)
    stamped = FEATURES.stamp(FEATURES.require(s.layout.features(bench)), SPACE_KEY)
    if stamped and stamped != space_id(s, spec.modality):
        raise ConfigError(
            f"{bench}: its features are in the space of {stamped!r} but the configured backbone "
            f"embeds into {space_id(s, spec.modality)!r}: configure the backbone the pipeline ran with"
        )
    clf = benchmark_classifiers(s, bench)
    head = require_artifact(head_path(s, bench, aligner, fold), f"head of {bench}", "aligned_heads")
    return BoundModel(
        bench,
        spec.modality,
        read_classes(s, bench),
        clf,
        head,
        s,
        {**spec.loader_options, **view_options(s, spec.modality)},
        backbone_id(s, spec.modality),
    )


def _file_rows(files: Sequence[Path]) -> tuple[Path, list[dict], list[dict]]:
    """(common root, manifest-shaped rows of the files that exist, failures of those that do not)."""
    paths = [Path(os.path.abspath(f)) for f in files]
    present = [p for p in paths if p.is_file()]
    failures = [{"path": str(p), "reason": "no such file"} for p in paths if not p.is_file()]
    if not present:
        return Path("/"), [], failures
    root = Path(os.path.commonpath([str(p.parent) for p in present]))
    rows = [
        {
            "sample_id": str(p.relative_to(root)),
            "path": str(p.relative_to(root)),
            "split": "test",
            "box": None,
            "paired_path": None,
        }
        for p in present
    ]
    return root, rows, failures


def decode_files(
    modality: str, loader_options: dict[str, Any], files: Sequence[Path], label: str = "predict"
) -> tuple[list[str], torch.Tensor, list[dict]]:
    """(paths that decoded, (M, *loader shape) inputs, failures): each file through the modality's loader
    with the benchmark's loader options; a file that is missing or does not decode is a failure, the rest go on."""
    root, rows, failures = _file_rows(files)
    if not rows:
        return [], torch.empty(0), failures
    spec = BenchmarkSpec(name=label, modality=modality, reader="-", root=str(root), loader_options=dict(loader_options))
    decoded = decode_rows(spec, root, pa.Table.from_pylist(rows))
    ok_paths = [str(root / r["path"]) for r, ok in zip(rows, decoded.ok) if ok]
    failures += [{"path": str(root / f["path"]), "reason": f["reason"]} for f in decoded.failures]
    return ok_paths, decoded.inputs, failures


def embed_decoded(
    s: Settings, modality: str, loader_options: dict[str, Any], inputs: torch.Tensor, head: Path | None
) -> np.ndarray:
    """(N, *loader shape) decoded inputs -> (N, D) unit vectors: the backbone's features, through `head`
    when one is given (the fine-tuned setting, as `through` does in the evaluation)."""
    backbone = load_backbone(s, modality)
    x = embed_inputs(backbone, modality, inputs, s.batch_size, meta=dict(loader_options))
    if head is None:
        return x
    _, module = load_aligned(head, x.shape[1])
    return project(module, x)


def rank(
    model: BoundModel, x: np.ndarray, classifier: Classifier, top_k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, D) unit vectors -> ((N, k) classes, (N, k) scores, (N,) top-1). The top-1 is `Classifiers.predict`
    (for centres the label of the nearest centre, the evaluation's rule); the other ranks follow the (N, C)
    class scores of `Classifiers.scores`."""
    scores = model.classifiers.scores(x, classifier)
    top1 = model.classifiers.predict(x, classifier, scores)
    k = min(top_k, scores.shape[1])
    order = np.argsort(-scores, axis=1, kind="stable")
    order = np.concatenate([top1[:, None], order[order != top1[:, None]].reshape(len(x), -1)], axis=1)[:, :k]
    return order, np.take_along_axis(scores, order, axis=1), top1


def predict_vectors(
    model: BoundModel, paths: Sequence[str], x: np.ndarray, setting: Setting, classifier: Classifier, top_k: int = 5
) -> Predictions:
    """Embedded inputs (already in the setting's space) -> PREDICTIONS rows, one per input and rank."""
    if top_k < 1:
        raise ConfigError(f"top_k must be at least 1, got {top_k}")
    order, scores, top1 = rank(model, x, classifier, top_k)
    n, k = order.shape
    names = np.array([c.name for c in model.classes], dtype=object)
    keys = np.array([c.key for c in model.classes], dtype=object)
    flat = order.reshape(-1)
    table = PREDICTIONS.table(
        {
            "path": np.repeat(np.asarray(list(paths), dtype=object), k).tolist(),
            "rank": np.tile(np.arange(k, dtype=np.int32), n),
            "class_index": flat.astype(np.int32),
            "class_key": keys[flat].tolist(),
            "class_name": names[flat].tolist(),
            "score": scores.reshape(-1).astype(np.float64),
            "benchmark": [model.benchmark] * (n * k),
            "setting": [str(setting)] * (n * k),
            "classifier": [str(classifier)] * (n * k),
        }
    )
    return Predictions(table, [], top1)


def predict(
    model: BoundModel,
    inputs: Sequence[Path] | torch.Tensor,
    setting: Setting = Setting.FINE_TUNED,
    classifier: Classifier = Classifier.CENTRES,
    top_k: int = 5,
    names: Sequence[str] | None = None,
) -> Predictions:
    """Files (paths) or already decoded samples ((N, *loader shape) tensor, labelled by `names`) -> their
    top-k classes. Files that do not decode are listed in `failures`; the others are classified."""
    if isinstance(inputs, torch.Tensor):
        paths, decoded, failures = list(names or (f"sample {i}" for i in range(len(inputs)))), inputs, []
    else:
        paths, decoded, failures = decode_files(
            model.modality, model.loader_options, inputs, f"predict {model.benchmark}"
        )
    if not paths:
        empty = PREDICTIONS.table({name: [] for name in PREDICTIONS.schema.names})
        return Predictions(empty, failures, np.zeros(0, np.int64))
    if setting is Setting.FINE_TUNED and model.head is None:
        raise ConfigError(f"{model.benchmark}: this model has no head, so no fine-tuned setting; use zero-shot")
    head = model.head if setting is Setting.FINE_TUNED else None
    x = embed_decoded(model.settings, model.modality, model.loader_options, decoded, head)
    out = predict_vectors(model, paths, x, setting, classifier, top_k)
    return Predictions(out.table, failures, out.top1)
