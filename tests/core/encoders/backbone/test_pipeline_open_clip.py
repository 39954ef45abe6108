"""A demo benchmark through every stage with the tiny open_clip backbone: data and texts in one space."""

from __future__ import annotations

import numpy as np
import pytest
from tiny_models import save_tiny_open_clip

from unibind_core.core.errors import ConfigError
from unibind_core.core.settings import Settings
from unibind_core.knowledge.text_cache import cache_dir_for
from unibind_core.stages.centres import stage_centres
from unibind_core.stages.data import stage_features, stage_manifest, stage_world
from unibind_core.stages.evaluation import stage_evaluation
from unibind_core.stages.heads import stage_head
from unibind_core.stages.knowledge import (
    stage_captions,
    stage_descriptions,
    stage_kb,
    stage_text_embeddings,
)
from unibind_core.storage.io import SPACE_KEY
from unibind_core.storage.tables import FEATURES, TEXT_EMBEDDINGS

BENCH = "demo_image"


def _settings(root, name, weights) -> Settings:
    # One benchmark of a pair alone: CentroBind would need its partner's features (tests/core/method/aligners).
    return Settings(
        data_root=root,
        profile="demo",
        demo_max_per_class=4,
        descriptions_per_category=6,
        k=3,
        head_epochs=2,
        backbone="open_clip",
        backbone_model=name,
        backbone_weights=str(weights),
        device="cpu",
        batch_size=16,
        compare_aligners="exmcr",
    )


@pytest.mark.slow  # every stage of a benchmark: ~11 s
def test_a_demo_benchmark_runs_end_to_end_in_the_backbones_own_space(tmp_path, tiny_open_clip, open_clip_backbone):
    s = _settings(tmp_path, *tiny_open_clip)
    stage_world(s)
    stage_manifest(s, BENCH)
    for stage in (stage_descriptions, stage_captions, stage_kb):
        stage(s, BENCH)
    text = stage_text_embeddings(s, BENCH)
    assert text.metadata["encoder"] == open_clip_backbone.id and text.metadata["dim"] == open_clip_backbone.dim
    assert cache_dir_for(s.layout.text_cache, open_clip_backbone.id).is_dir()
    rows, vectors = TEXT_EMBEDDINGS.read_vectors(s.layout.text_embeddings(BENCH), ("text",))
    some = rows["text"].to_pylist()[:5]
    np.testing.assert_allclose(vectors[:5], open_clip_backbone.embed_text(some).numpy(), atol=1e-5)

    features = stage_features(s, BENCH)
    assert features.metadata["backbone_id"] == open_clip_backbone.id
    assert stage_features(s, BENCH).reused  # keyed by inputs + backbone id + views: unchanged, not recomputed
    for path, contract in ((s.layout.features(BENCH), FEATURES), (s.layout.text_embeddings(BENCH), TEXT_EMBEDDINGS)):
        assert contract.stamp(path, SPACE_KEY) == open_clip_backbone.id

    assert stage_centres(s, BENCH).checks["centres_valid"].passed
    stage_head(s, BENCH)
    result = stage_evaluation(s, BENCH)
    accuracies = [v for k, v in result.metrics.items() if k.startswith("accuracy/")]
    assert len(accuracies) == 6 and all(0 <= a <= 1 for a in accuracies)

    # Features from other weights (same size, another space) beside these texts: refused, both named.
    other = _settings(tmp_path, tiny_open_clip[0], save_tiny_open_clip(tmp_path, seed=3))
    assert not stage_features(other, BENCH).reused  # a new weights hash is a new key
    with pytest.raises(
        ConfigError,
        match=r"data features are in the space of 'open_clip:.*' but text embeddings "
        r"in the space of 'open_clip:",
    ):
        stage_centres(other, BENCH)


@pytest.mark.slow  # every stage of a benchmark: ~7 s
def test_per_modality_choice_embeds_audio_and_its_texts_with_clap(tmp_path, tiny_open_clip, tiny_clap, clap_backbone):
    """One run: open_clip for the vision-like benchmarks, CLAP for audio; each benchmark in its own space."""
    import dataclasses
    import json

    bench = "demo_audio"  # 8 kHz clips, as the tiny CLAP's feature extractor expects
    s = dataclasses.replace(
        _settings(tmp_path, *tiny_open_clip),
        demo_max_per_class=10,
        backbone_per_modality=json.dumps({"audio": {"backbone": "clap", "model": str(tiny_clap)}}),
    )
    stage_world(s)
    stage_manifest(s, bench)
    for stage in (stage_descriptions, stage_captions, stage_kb):
        stage(s, bench)
    assert stage_text_embeddings(s, bench).metadata["encoder"] == clap_backbone.id
    assert stage_features(s, bench).metadata["backbone_id"] == clap_backbone.id
    assert FEATURES.stamp(s.layout.features(bench), SPACE_KEY) == clap_backbone.id
    assert FEATURES.dim(s.layout.features(bench)) == clap_backbone.dim

    outcome = stage_centres(s, bench).checks["centres_valid"]
    assert outcome.passed, outcome.description
