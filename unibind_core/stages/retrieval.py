"""The retrieval stage: recall@k both ways between every paired benchmark of the profile (one table)."""
from __future__ import annotations

import pyarrow as pa

from unibind_core.io import table_hash
from unibind_core.retrieval import Side, both_directions, manifest_pairs
from unibind_core.settings import Settings
from unibind_core.stages import StageResult
from unibind_core.stages.common import manifest_column, spec_of
from unibind_core.stages.model import fine_tuned, split_features
from unibind_core.tables import RETRIEVAL, Setting, Split


def retrieval_pairs(benches: list[str]) -> list[tuple[str, str]]:
    """(benchmark, its paired benchmark) for each benchmark whose partner is also in `benches`."""
    return [(b, spec_of(b).paired_benchmark) for b in benches if spec_of(b).paired_benchmark in benches]


def stage_retrieval(s: Settings, benches: list[str]) -> StageResult:
    """Test split of each pair: zero-shot on frozen features, fine-tuned through each side's own head."""
    rows: list[dict] = []
    for bench, other in retrieval_pairs(benches):
        a_rows, a_x = split_features(s, bench, Split.TEST)
        b_rows, b_x = split_features(s, other, Split.TEST)
        pairs = manifest_pairs(manifest_column(s, bench, "paired_path", a_rows["sample_id"].to_pylist()),
                               manifest_column(s, other, "path", b_rows["sample_id"].to_pylist()))
        if not len(pairs):
            raise ValueError(f"{bench} <-> {other}: no test sample of {bench} names a test sample of {other} in "
                             "its paired_path; re-materialize both manifests")
        for setting, xa, xb in ((Setting.ZERO_SHOT, a_x, b_x),
                                (Setting.FINE_TUNED, fine_tuned(s, bench, a_x), fine_tuned(s, other, b_x))):
            rows += both_directions(Side(bench, spec_of(bench).modality, xa), Side(other, spec_of(other).modality, xb),
                                    pairs, str(setting), str(Split.TEST))
    table = RETRIEVAL.conform(pa.Table.from_pylist(rows, schema=RETRIEVAL.schema))
    RETRIEVAL.write(table, s.layout.retrieval)
    metrics = {f"{r['query_benchmark']}->{r['gallery_benchmark']}/{r['setting']}/{r['metric']}": r["recall"]
               for r in rows}
    return StageResult(table_hash(table), {"pairs": [f"{a}<->{b}" for a, b in retrieval_pairs(benches)],
                                           "n_queries": {f"{r['query_benchmark']}->{r['gallery_benchmark']}":
                                                         r["n_queries"] for r in rows}},
                       metrics=metrics, row_count=table.num_rows)
