"""Table contracts: conformance on write, projection and filter pushdown on read, streamed groups."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from unibind_core.storage.io import arrow_to_vectors, stored_inputs_key
from unibind_core.storage.tables import (
    CLASSES,
    EVALUATIONS,
    FEATURES,
    TEXT_EMBEDDINGS,
    RowKind,
    Split,
    kind_is,
    split_is,
)


def _embeddings(n_per_kind: int = 300, dim: int = 8) -> tuple[pa.Table, np.ndarray]:
    """A conformed (so already sorted) text-embeddings table and the vectors it was built from."""
    rng = np.random.default_rng(0)
    kinds = [k for k in (RowKind.CAPTION, RowKind.DESCRIPTION, RowKind.TEMPLATE) for _ in range(n_per_kind)]
    cats = [f"c{i % 7}" for i in range(len(kinds))]
    vectors = rng.normal(size=(len(kinds), dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    table = TEXT_EMBEDDINGS.table(
        {
            "ID": [f"id{i:04d}" for i in range(len(kinds))],
            "Category": cats,
            "kind": [str(k) for k in kinds],
            "text": [f"t{i}" for i in range(len(kinds))],
            "text_hash": [f"h{i}" for i in range(len(kinds))],
        },
        vectors,
    )
    return table, vectors


def test_write_conforms_sorts_stably_and_stamps_the_inputs_key(tmp_path):
    table, _ = _embeddings()
    path = TEXT_EMBEDDINGS.write(table.select(list(reversed(table.column_names))), tmp_path / "e.parquet", "key7")
    stored = pq.read_table(path)
    assert stored.column_names == TEXT_EMBEDDINGS.schema.names and stored_inputs_key(path) == "key7"
    keys = list(zip(stored["kind"].to_pylist(), stored["Category"].to_pylist()))
    assert keys == sorted(keys)
    ids = [i for i, (k, c) in zip(stored["ID"].to_pylist(), keys) if (k, c) == ("caption", "c3")]
    assert ids == sorted(ids)  # stable: the original (ID) order kept within a group
    assert pq.ParquetFile(path).metadata.num_row_groups == -(-table.num_rows // TEXT_EMBEDDINGS.row_group_rows)


def test_write_refuses_a_table_missing_a_column(tmp_path):
    with pytest.raises(
        ValueError,
        match=r"class list: the table lacks the column\(s\) "
        r"\['class_name', 'dataset_index'\]",
    ):
        CLASSES.write(pa.table({"class_index": [0], "class_key": ["a"]}), tmp_path / "c.parquet")
    assert not (tmp_path / "c.parquet").exists()


def test_read_vectors_returns_only_the_kind_asked_for(tmp_path):
    table, _ = _embeddings()
    path = TEXT_EMBEDDINGS.write(table, tmp_path / "e.parquet")
    rows, got = TEXT_EMBEDDINGS.read_vectors(path, ("ID",), kind_is(RowKind.DESCRIPTION))
    want, vectors = table.to_pydict(), arrow_to_vectors(table["vector"])
    expected = {i: v for i, k, v in zip(want["ID"], want["kind"], vectors) if k == "description"}
    assert rows.num_rows == len(expected) == len(got) and rows.column_names == ["ID"]
    for i, v in zip(rows["ID"].to_pylist(), got):
        np.testing.assert_array_equal(v, expected[i])


def test_reading_one_kind_skips_the_row_groups_of_the_others(tmp_path):
    """Filter pushdown: a small row group size makes the caption rows their own row groups."""
    big = dataclasses.replace(TEXT_EMBEDDINGS, row_group_rows=100)
    table, _ = _embeddings(n_per_kind=1000)
    path = big.write(table, tmp_path / "e.parquet")
    meta = pq.ParquetFile(path).metadata
    kind_col = TEXT_EMBEDDINGS.schema.get_field_index("kind")
    groups_with_captions = [
        g for g in range(meta.num_row_groups) if meta.row_group(g).column(kind_col).statistics.min == "caption"
    ]
    assert len(groups_with_captions) == 10 and meta.num_row_groups == 30
    fragment = next(iter(big.dataset(path).get_fragments()))
    kept = fragment.split_by_row_group(filter=kind_is(RowKind.CAPTION))
    assert len(kept) == 10  # the 20 description/template groups are never read


def test_groups_stream_one_category_at_a_time(tmp_path):
    table, vectors = _embeddings()
    path = TEXT_EMBEDDINGS.write(table, tmp_path / "e.parquet")
    seen = {}
    for key, rows, vec in TEXT_EMBEDDINGS.groups(path, "Category", ("ID",), kind_is(RowKind.DESCRIPTION)):
        assert key not in seen and len(rows) == len(vec)
        seen[key] = rows["ID"].to_pylist()
    d = table.filter(pa.compute.equal(table["kind"], "description"))
    assert seen == {
        c: [i for i, cc in zip(d["ID"].to_pylist(), d["Category"].to_pylist()) if cc == c]
        for c in sorted(set(d["Category"].to_pylist()))
    }


def test_groups_refuse_an_unsorted_table(tmp_path):
    table, _ = _embeddings()
    path = tmp_path / "unsorted.parquet"
    pq.write_table(table.take(np.random.default_rng(1).permutation(table.num_rows)), path)
    with pytest.raises(ValueError, match="not sorted by 'Category'"):
        list(TEXT_EMBEDDINGS.groups(path, "Category", (), kind_is(RowKind.DESCRIPTION)))


def test_features_by_split_keep_manifest_order(tmp_path):
    splits = [Split.TRAIN, Split.TEST, Split.TRAIN, Split.EVAL, Split.TRAIN]
    v = np.eye(5, dtype=np.float32)
    path = FEATURES.write(
        FEATURES.table(
            {"sample_id": list("abcde"), "split": [str(s) for s in splits], "class_index": [0, 1, 2, 3, 4]}, v
        ),
        tmp_path / "f.parquet",
    )
    rows, x = FEATURES.read_vectors(path, ("sample_id",), split_is(Split.TRAIN))
    assert rows["sample_id"].to_pylist() == ["a", "c", "e"]
    np.testing.assert_array_equal(x, v[[0, 2, 4]])


def test_missing_and_corrupt_tables_name_the_file(tmp_path):
    with pytest.raises(
        FileNotFoundError, match="evaluations not found at .*nope.parquet: materialize benchmark_evaluation first"
    ):
        EVALUATIONS.read(tmp_path / "nope.parquet")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(ValueError, match="evaluations at .*bad.parquet is unreadable"):
        EVALUATIONS.read(bad)


def test_vectors_that_are_not_finite_unit_vectors_are_refused_on_write_and_on_read(tmp_path):
    v = np.eye(3, dtype=np.float32)
    cols = {"sample_id": ["a", "b", "c"], "split": ["train"] * 3, "class_index": [0, 1, 2]}
    with pytest.raises(ValueError, match=r"features at .*f.parquet: 1 vectors .* not finite unit vectors"):
        FEATURES.write(FEATURES.table(cols, v * np.array([[1], [2], [1]], np.float32)), tmp_path / "f.parquet")
    assert not (tmp_path / "f.parquet").exists()
    path = tmp_path / "g.parquet"
    bad = FEATURES.conform(FEATURES.table(cols, v))
    broken = v.copy()
    broken[1, 1] = np.nan  # as if the file had been damaged after it was written
    flat = pa.array(broken.reshape(-1), pa.float32())
    bad = bad.set_column(3, bad.schema.field(3), pa.FixedSizeListArray.from_arrays(flat, 3))
    pq.write_table(bad, path)
    with pytest.raises(ValueError, match="not finite unit vectors .* re-materialize data_embeddings"):
        FEATURES.read_vectors(path, ("sample_id",))
