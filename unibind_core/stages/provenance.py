"""The reproducibility record of a results run: what a reader needs to know the numbers came from.

Code (git commit, dirty or not), models (ids and weight hashes), who wrote descriptions and captions,
class lists and prompt sets (hashes), seeds, each benchmark's split definition (reader, its options
with their defaults, counts per split), and the numeric environment (CPU, kernels, threads: the figures
depend on them, core/numeric_env.py).
"""

from __future__ import annotations

import datetime as dt
import inspect
import subprocess
from importlib import metadata
from pathlib import Path

import pyarrow.compute as pc

import unibind_core
from unibind_core.core import numeric_env
from unibind_core.core.settings import Settings
from unibind_core.data.benchmarks.readers import READERS
from unibind_core.knowledge.templates import PROMPT_SETS, clip_templates
from unibind_core.stages.common import artifact_version, read_manifest, spec_of, text_encoder_id
from unibind_core.storage.io import SPACE_KEY, content_hash, file_hash, table_hash
from unibind_core.storage.tables import CLASSES, FEATURES, Classifier

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt")


def git_commit(where: Path = Path(unibind_core.__file__).parent) -> dict:
    """{"commit", "dirty"} of the checkout the code runs from; "unknown" outside a git checkout."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(where), *args], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}


def weights_hash(path: Path | None) -> str | None:
    """Hash of a weights file, or of every weights file under a model folder; None when not on disk."""
    if path is None or not Path(path).exists():
        return None
    p = Path(path)
    if p.is_file():
        return file_hash(p)
    files = sorted(f for f in p.rglob("*") if f.suffix in WEIGHT_SUFFIXES)
    return content_hash(*(f"{f.relative_to(p)}:{file_hash(f)}" for f in files))


def _version() -> str | None:
    try:
        return metadata.version("unibind")
    except metadata.PackageNotFoundError:
        return None


def _text_weights(s: Settings) -> Path | None:
    if s.text_model is None and s.text_encoder == "minilm":
        from unibind_core.encoders.text.minilm import bundled_minilm_path

        return bundled_minilm_path()
    return Path(s.text_model) if s.text_model and Path(s.text_model).exists() else None  # a hub id: no local file


def split_definition(s: Settings, bench: str) -> dict:
    """The reader, its options (defaults filled in) and the sample count per split."""
    spec = spec_of(bench)
    params = inspect.signature(READERS[spec.reader]).parameters
    options = {n: p.default for n, p in params.items() if p.default is not inspect.Parameter.empty}
    options.update(spec.reader_options)
    counts = pc.value_counts(read_manifest(s, bench)["split"]).to_pylist()
    return {
        "reader": spec.reader,
        "options": {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()},
        "counts": {r["values"]: r["counts"] for r in sorted(counts, key=lambda r: r["values"])},
    }


def prompt_sets(s: Settings) -> dict:
    templates = [t("{}") for t in clip_templates()]
    single = PROMPT_SETS[str(Classifier.SINGLE_TEMPLATE)]
    return {
        "templates": {
            "name": PROMPT_SETS[str(Classifier.TEMPLATES)],
            "count": len(templates),
            "hash": content_hash(*templates),
        },
        "single_template": {"name": single, "hash": content_hash(single)},
        "centres": f"centres:k={s.k}:{s.centre_ranking}",
    }


def reproducibility_record(s: Settings, benches: list[str]) -> dict:
    lay = s.layout
    backbone_weights = lay.backbone if s.backbone == "demo" else None
    per_bench = {}
    for b in benches:
        heads = lay.head(b)
        per_bench[b] = {
            "class_list_hash": table_hash(CLASSES.read(lay.classes(b))),
            "knowledge_base": artifact_version(lay.kb(b)) if lay.kb(b).is_file() else None,
            "head": artifact_version(heads) if heads.is_file() else None,
            "split": split_definition(s, b),
            "embedding_space": (FEATURES.stamp(lay.features(b), SPACE_KEY) if lay.features(b).is_file() else None),
        }
    return {
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "code": {"package": "unibind", "version": _version(), **git_commit()},
        "profile": s.profile,
        "models": {
            "backbone": {
                "id": s.backbone,
                "model": s.backbone_model,
                "weights": s.backbone_weights,
                "per_modality": s.backbone_overrides(),
                "weights_hash": weights_hash(backbone_weights),
            },
            "text_encoder": {"id": text_encoder_id(s), "weights_hash": weights_hash(_text_weights(s))},
        },
        "describer": {
            "id": s.describer,
            "model": s.llm.model,
            "descriptions_per_category": s.descriptions_per_category,
        },
        "captioner": {"id": s.captioner, "model": s.caption.model},
        "prompt_sets": prompt_sets(s),
        "seeds": {"seed": s.seed, "pretrain.seed": s.pretrain.seed},
        "head": {"temperature": s.temperature, "epochs": s.head_epochs},
        "benchmarks": per_bench,
        "numeric_environment": numeric_env.record(),
    }
