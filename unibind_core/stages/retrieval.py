"""The retrieval stage: recall@k both ways between every paired benchmark of the profile (one table); the
scoring is evaluation/retrieval.py, this module the same idea at the stage layer (stored tables in and out).

The fixed test split, zero-shot and through each side's primary head (the headline and the paper comparison).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from unibind_core.core.settings import Settings
from unibind_core.evaluation.retrieval import Side, both_directions, manifest_pairs
from unibind_core.stages import StageResult
from unibind_core.stages.common import manifest_column, spec_of
from unibind_core.stages.evaluation import FIXED_SPLIT
from unibind_core.stages.head_inputs import split_features
from unibind_core.stages.heads import fine_tuned
from unibind_core.storage.io import table_hash
from unibind_core.storage.tables import RETRIEVAL, Setting, Split, SplitProtocol


def retrieval_pairs(benches: list[str]) -> list[tuple[str, str]]:
    """(benchmark, its paired benchmark) for each benchmark whose partner is also in `benches`."""
    return [(b, spec_of(b).paired_benchmark) for b in benches if spec_of(b).paired_benchmark in benches]


def _pairs(s: Settings, bench: str, a_ids: list[str], other: str, b_ids: list[str]) -> np.ndarray:
    """(P, 2) (index into a_ids, index into b_ids) of the samples whose paired_path names the other's path."""
    return manifest_pairs(manifest_column(s, bench, "paired_path", a_ids), manifest_column(s, other, "path", b_ids))


def fixed_rows(s: Settings, bench: str, other: str) -> list[dict]:
    """Test split of the pair: zero-shot on frozen features, fine-tuned through each side's primary head."""
    a_rows, a_x = split_features(s, bench, Split.TEST)
    b_rows, b_x = split_features(s, other, Split.TEST)
    pairs = _pairs(s, bench, a_rows["sample_id"].to_pylist(), other, b_rows["sample_id"].to_pylist())
    if not len(pairs):
        raise ValueError(
            f"{bench} <-> {other}: no test sample of {bench} names a test sample of {other} in "
            "its paired_path; re-materialize both manifests"
        )
    rows = []
    for setting, xa, xb in (
        (Setting.ZERO_SHOT, a_x, b_x),
        (Setting.FINE_TUNED, fine_tuned(s, bench, a_x), fine_tuned(s, other, b_x)),
    ):
        rows += both_directions(
            Side(bench, spec_of(bench).modality, xa),
            Side(other, spec_of(other).modality, xb),
            pairs,
            str(setting),
            str(Split.TEST),
        )
    return [{**r, "protocol": str(SplitProtocol.FIXED), "fold": None, "split_definition": FIXED_SPLIT} for r in rows]


def stage_retrieval(s: Settings, benches: list[str]) -> StageResult:
    """Every pair of `benches` on its fixed test split."""
    rows: list[dict] = []
    for bench, other in retrieval_pairs(benches):
        rows += fixed_rows(s, bench, other)
    table = RETRIEVAL.conform(pa.Table.from_pylist(rows, schema=RETRIEVAL.schema))
    RETRIEVAL.write(table, s.layout.retrieval)
    metrics = {
        f"{r['query_benchmark']}->{r['gallery_benchmark']}/{r['setting']}/{r['metric']}": r["recall"] for r in rows
    }
    return StageResult(
        table_hash(table),
        {
            "pairs": [f"{a}<->{b}" for a, b in retrieval_pairs(benches)],
            "n_queries": {f"{r['query_benchmark']}->{r['gallery_benchmark']}": r["n_queries"] for r in rows},
        },
        metrics=metrics,
        row_count=table.num_rows,
    )
