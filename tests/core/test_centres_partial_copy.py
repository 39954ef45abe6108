"""A copy holding some classes of a shipped list has classes without training data: `data_mean` cannot rank
their descriptions and says what to do instead; `label_free` ranks every class without looking at data."""
from __future__ import annotations

import numpy as np
import pytest

from unibind_core.centres import (
    ClassTexts,
    label_free_queries,
    localize_centres,
    normalize,
)
from unibind_core.tables import RowKind


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
    with pytest.raises(ValueError, match=r"class 'dog' has no training data .* classnames=<file>.* "
                                         r"centre_ranking=label_free"):
        localize_centres(iter(classes), only_cat, k=2)
    table = localize_centres(iter(classes), label_free_queries(_Inputs()), k=2)
    assert table["class_key"].to_pylist() == ["cat", "cat", "dog", "dog"]
