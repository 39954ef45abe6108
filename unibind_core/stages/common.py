"""Helpers shared by the stages: class lists, cached model construction, keyed reuse."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow as pa

from unibind_core.core.errors import ConfigError
from unibind_core.core.settings import Settings
from unibind_core.data.benchmarks.manifest import ClassInfo
from unibind_core.data.benchmarks.spec import BENCHMARKS, BenchmarkSpec, profile_benchmarks
from unibind_core.encoders.backbone.select import space_id, text_tower
from unibind_core.encoders.text import TEXT_ENCODERS, TextEncoder
from unibind_core.storage.io import SPACE_KEY, file_hash, stored_inputs_key
from unibind_core.storage.tables import CLASSES, FEATURES, MANIFEST, TEXT_EMBEDDINGS


def check_settings(s: Settings) -> Settings:
    """Every backend the settings name exists (the numeric options are checked by Settings itself):
    one clear error before any work starts."""
    from unibind_core.encoders.backbone import BACKBONES
    from unibind_core.knowledge.captioners import CAPTIONERS
    from unibind_core.knowledge.describe import DESCRIBERS
    from unibind_core.method.centres import CENTRE_RANKINGS

    backbones = [(BACKBONES, o["backbone"]) for o in s.backbone_overrides().values()]
    for registry, name in (
        (DESCRIBERS, s.describer),
        (CAPTIONERS, s.captioner),
        (TEXT_ENCODERS, s.text_encoder),
        (BACKBONES, s.backbone),
        (CENTRE_RANKINGS, s.centre_ranking),
        *backbones,
    ):
        registry.require(name)
    profile_benchmarks(s.profile)
    return s


def spec_of(bench: str) -> BenchmarkSpec:
    return BENCHMARKS[bench]


def read_classes(settings: Settings, bench: str) -> list[ClassInfo]:
    """The class table; its indices must be 0..C-1 (docs/architecture.md, "Class indices"), which a table
    written before that rule may break: then an error naming the asset that rewrites it."""
    table = CLASSES.read(settings.layout.classes(bench))
    classes = [
        ClassInfo(r["class_index"], r["class_key"], r["class_name"], r.get("dataset_index")) for r in table.to_pylist()
    ]
    if [c.index for c in classes] != list(range(len(classes))):
        raise ValueError(
            f"{bench}: the class list numbers its {len(classes)} classes "
            f"{[c.index for c in classes][:5]}..., not 0..{len(classes) - 1}; re-materialize "
            "benchmark_manifest"
        )
    return classes


def read_manifest(settings: Settings, bench: str) -> pa.Table:
    return MANIFEST.read(settings.layout.manifest(bench))


def manifest_column(settings: Settings, bench: str, column: str, sample_ids: list[str]) -> list:
    """The manifest's `column` for each of `sample_ids` (e.g. a feature table's rows, in their order)."""
    manifest = read_manifest(settings, bench).select(["sample_id", column]).to_pylist()
    by_id = {r["sample_id"]: r[column] for r in manifest}
    return [by_id[i] for i in sample_ids]


def _modality(bench: str | None) -> str | None:
    return spec_of(bench).modality if bench is not None else None


def text_encoder(s: Settings, bench: str | None = None) -> TextEncoder:
    """The text tower of the space the benchmark's data is embedded into: its backbone's own text tower
    (the demo's: the configured `text_encoder`), loaded once per process and configuration."""
    return text_tower(s, _modality(bench))


def text_encoder_id(s: Settings, bench: str | None = None) -> str:
    """The embedding space of the benchmark's texts (and data): part of the text-embedding key."""
    return space_id(s, _modality(bench))


def require_artifact(path: Path, what: str, asset: str) -> Path:
    """An upstream stage's output that is not a table (weights), or an error naming the asset to materialize."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{what} not found at {path}: materialize {asset} first")
    return Path(path)


def artifact_version(path: Path) -> str:
    """What identifies an upstream output's content: the inputs key it was stamped with (computed
    deterministically from those inputs), else the hash of its bytes."""
    return stored_inputs_key(path) or file_hash(path)


def is_current(path: Path, key: str) -> bool:
    return stored_inputs_key(path) == key


def reusable(s: Settings, path: Path, key: str) -> bool:
    """The stored output at `path` may be kept: it was computed under `key` and `refresh` is off."""
    return not s.refresh and is_current(path, key)


def item_refresh(s: Settings, shard_step: bool = False) -> Settings:
    """The settings a step reads its per-item caches (text vectors, captions, feature shards) with: under
    `refresh` the step that computes the items ignores them, but a fan-out's assembling stage trusts what
    its shard steps have just recomputed (refresh off there)."""
    return s if shard_step or not s.fan_out or not s.refresh else replace(s, refresh=False)


def require_one_space(s: Settings, bench: str) -> int:
    """Data features and text embeddings (hence centres) must come from one embedding space: the spaces
    they were stamped with when written must agree, and so must their sizes. ConfigError otherwise."""
    features, texts = s.layout.features(bench), s.layout.text_embeddings(bench)
    data_space, text_space = FEATURES.stamp(features, SPACE_KEY), TEXT_EMBEDDINGS.stamp(texts, SPACE_KEY)
    if data_space and text_space and data_space != text_space:
        raise ConfigError(
            f"{bench}: data features are in the space of {data_space!r} but text embeddings in the "
            f"space of {text_space!r}: centres and classifiers would compare unrelated vectors. "
            "Re-materialize kb_text_embeddings and features with one configuration (a benchmark's "
            "texts are embedded by the text tower of the backbone that embeds its data)"
        )
    data_dim, text_dim = FEATURES.dim(features), TEXT_EMBEDDINGS.dim(texts)
    if data_dim != text_dim:
        raise ConfigError(
            f"{bench}: data features have {data_dim} dimensions (backbone {s.backbone!r}) but text "
            f"embeddings {text_dim} (text encoder {s.text_encoder!r}): they are not one embedding "
            "space; configure a text tower of the backbone's space and re-materialize kb_text_embeddings"
        )
    return data_dim
