"""A copy holding some classes of a shipped list has classes without training data: `data_mean` cannot rank
their descriptions and says what to do instead; `label_free` ranks every class without looking at data."""

from __future__ import annotations

import numpy as np
import pytest

from unibind_core.method.centres import (
    ClassTexts,
    label_free_queries,
    localize_centres,
    normalize,
)
from unibind_core.storage.tables import RowKind


def _texts(index: int, key: str, seed: int) -> ClassTexts:
    vectors = normalize(np.random.default_rng(seed).normal(size=(3, 8)))
    return ClassTexts(index, key, [f"{key}:{i}" for i in range(3)], [f"{key} text {i}" for i in range(3)], vectors)


class _Inputs:
    def __init__(self) -> None:
        self.class_index = {"cat": 0, "dog": 1}

    def prompt_vectors(self, kind: RowKind):
        assert kind == RowKind.SINGLE_TEMPLATE
        return ["cat", "dog"], normalize(np.random.default_rng(5).normal(size=(2, 8)))


def test_a_class_without_training_data_names_the_remedies_and_label_free_ranks_it():
    classes = [_texts(0, "cat", 1), _texts(1, "dog", 2)]
    only_cat = {0: normalize(np.ones((1, 8)))[0]}  # data_mean's queries: the classes with training samples
    with pytest.raises(
        ValueError,
        match=r"class 'dog' has no training data .* classnames=<file>.* "
        r"centre_ranking=label_free",
    ):
        localize_centres(iter(classes), only_cat, k=2)
    table = localize_centres(iter(classes), label_free_queries(_Inputs()), k=2)
    assert table["class_key"].to_pylist() == ["cat", "cat", "dog", "dog"]


def test_the_centres_stage_ranks_a_class_without_training_data_label_free_and_says_so(tmp_path):
    from unibind_core.core.settings import Settings
    from unibind_core.stages.centres import stage_centres
    from unibind_core.storage.tables import CENTRES, CLASSES, FEATURES, TEXT_EMBEDDINGS

    s, bench = Settings(data_root=tmp_path, k=2), "demo_image"
    CLASSES.write(
        CLASSES.table(
            {"class_index": [0, 1], "class_key": ["cat", "dog"], "class_name": ["cat", "dog"], "dataset_index": [0, 1]}
        ),
        s.layout.classes(bench),
    )
    x = normalize(np.random.default_rng(0).normal(size=(2, 8)))  # training samples of the cat only
    FEATURES.write(
        FEATURES.table({"sample_id": ["a", "b"], "split": ["train", "test"], "class_index": [0, 1]}, x),
        s.layout.features(bench),
    )
    rows = [(f"cat:{key}:{i}", key, "description") for key in ("cat", "dog") for i in range(3)]
    rows += [(f"one:{key}", key, "single_template") for key in ("cat", "dog")]
    TEXT_EMBEDDINGS.write(
        TEXT_EMBEDDINGS.table(
            {
                "ID": [r[0] for r in rows],
                "Category": [r[1] for r in rows],
                "kind": [r[2] for r in rows],
                "text": [r[0] for r in rows],
                "text_hash": [r[0] for r in rows],
            },
            normalize(np.random.default_rng(1).normal(size=(len(rows), 8))),
        ),
        s.layout.text_embeddings(bench),
    )
    result = stage_centres(s, bench)
    assert result.metadata["ranked_label_free"] == ["dog"] and result.checks["centres_valid"].passed
    assert sorted(set(CENTRES.read(s.layout.centres(bench))["class_key"].to_pylist())) == ["cat", "dog"]
