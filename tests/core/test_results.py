import pyarrow as pa
import pytest

from unibind_core.tables import EVAL_SCHEMA
from unibind_core.results import balance_table, to_markdown, wide_table, write_catalogue


def _evals():
    rows = []
    for bench, modality, zs, ft in (("a", "image", 0.9, 0.95), ("b", "audio", 0.45, 0.9)):
        for setting, acc in (("zero-shot", zs), ("fine-tuned", ft)):
            for clf in ("templates", "centres"):
                rows.append(dict(benchmark=bench, modality=modality, setting=setting, classifier=clf, accuracy=acc,
                                 n=10, split="test", prompt_set="p"))
    return pa.Table.from_pylist(rows, schema=EVAL_SCHEMA)


def test_balance_is_min_over_max_across_modalities():
    bal = {(r["setting"], r["classifier"]): r for r in balance_table(_evals()).to_pylist()}
    assert bal[("zero-shot", "centres")]["balance"] == pytest.approx(0.5)
    assert bal[("fine-tuned", "templates")]["balance"] == pytest.approx(0.9 / 0.95)


def test_wide_table_has_one_row_per_benchmark_and_renders(tmp_path):
    wide = wide_table(_evals())
    assert wide.num_rows == 2 and wide.column("zs_centres").to_pylist() == [0.45, 0.9]
    assert "| b | audio | 0.450 |" in to_markdown(wide)


def test_catalogue_views_read_parquet(tmp_path):
    import duckdb
    import pyarrow.parquet as pq

    pq.write_table(_evals(), tmp_path / "e.parquet")
    write_catalogue(tmp_path / "c.duckdb", {"evaluations": str(tmp_path / "*.parquet")})
    con = duckdb.connect(str(tmp_path / "c.duckdb"), read_only=True)
    assert con.execute("select count(*) from evaluations").fetchone()[0] == 8


def test_catalogue_paths_with_quotes_are_quoted_not_pasted(tmp_path):
    import duckdb
    import pyarrow.parquet as pq

    odd = tmp_path / "it's here"
    odd.mkdir()
    pq.write_table(_evals(), odd / "e.parquet")
    write_catalogue(odd / "c.duckdb", {"evaluations": str(odd / "*.parquet")})
    con = duckdb.connect(str(odd / "c.duckdb"), read_only=True)
    assert con.execute("select count(*) from evaluations").fetchone()[0] == 8
