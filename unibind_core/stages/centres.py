"""The `embedding_centres` stage: each class's top-K descriptions as its centres (the method is
method/centres.py; this is the same idea at the stage layer: reading the stored tables, writing CENTRES).

Descriptions stream one class at a time; the training features are read only when the ranking asks.
"""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc

from unibind_core.core.settings import Settings
from unibind_core.data.benchmarks.manifest import ClassInfo
from unibind_core.evaluation.checks import check_centres
from unibind_core.method.centres import CENTRE_RANKINGS, ClassTexts, localize_centres
from unibind_core.stages import StageResult
from unibind_core.stages.common import read_classes, require_one_space
from unibind_core.stages.head_inputs import split_features, text_vectors
from unibind_core.storage.io import arrow_to_vectors, table_hash
from unibind_core.storage.tables import CENTRES, TEXT_EMBEDDINGS, RowKind, Split, kind_is


class _StoredInputs:
    """RankingInputs over the stored tables: each is read only when a ranking strategy asks for it."""

    def __init__(self, s: Settings, bench: str, classes: list[ClassInfo]) -> None:
        self.s, self.bench = s, bench
        self.class_index = {c.key: c.index for c in classes}

    def train_features(self) -> tuple[np.ndarray, np.ndarray]:
        rows, x = split_features(self.s, self.bench, Split.TRAIN)
        return x, rows["class_index"].to_numpy()

    def prompt_vectors(self, kind: RowKind) -> tuple[list[str], np.ndarray]:
        rows, vectors = text_vectors(self.s, self.bench, ("Category",), kind)
        return rows["Category"].to_pylist(), vectors


def _description_stream(s: Settings, bench: str, index: dict[str, int], seen: set[str]):
    """ClassTexts per class, streamed from the table (sorted by kind, then Category)."""
    path = s.layout.text_embeddings(bench)
    for key, rows, vectors in TEXT_EMBEDDINGS.groups(path, "Category", ("ID", "text"), kind_is(RowKind.DESCRIPTION)):
        if key in index:  # descriptions of a category outside the class list are no candidates
            seen.add(key)
            yield ClassTexts(index[key], key, rows["ID"].to_pylist(), rows["text"].to_pylist(), vectors)


def stage_centres(s: Settings, bench: str) -> StageResult:
    dim = require_one_space(s, bench)
    classes = read_classes(s, bench)
    inputs = _StoredInputs(s, bench, classes)
    queries = CENTRE_RANKINGS[s.centre_ranking](inputs)
    # A class the ranking has no query for (data_mean: no training sample in this copy) is ranked label-free.
    label_free = [c for c in classes if c.index not in queries]
    if label_free:
        fallback = CENTRE_RANKINGS["label_free"](inputs)
        queries.update({c.index: fallback[c.index] for c in label_free if c.index in fallback})
    seen: set[str] = set()
    table = localize_centres(_description_stream(s, bench, inputs.class_index, seen), queries, s.k)
    missing = [c.key for c in classes if c.key not in seen]
    if missing:
        raise ValueError(
            f"{bench}: classes {missing[:5]} have no descriptions to localize centres from; nothing was written"
        )
    CENTRES.write(table, s.layout.centres(bench))
    vectors = arrow_to_vectors(table["vector"])
    k_per_class = {r["class_index"]: r["k"] for r in table.select(["class_index", "k"]).to_pylist()}
    outcome = check_centres(vectors, table["class_index"].to_numpy(), k_per_class, len(classes), s.k, dim)
    return StageResult(
        table_hash(table),
        {
            "centres": table.num_rows,
            "k": s.k,
            "ranking": s.centre_ranking,
            "ranked_label_free": [c.key for c in label_free],
            "top_centre_per_class": {
                r["class_key"]: r["text"] for r in table.filter(pc.equal(table["rank"], 0)).to_pylist()
            },
        },
        checks={"centres_valid": outcome},
        row_count=table.num_rows,
        metrics={"mean_score": float(pc.mean(table["score"]).as_py())},
    )
