from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from unibind_core.storage.io import arrow_to_vectors, atomic_path, stored_inputs_key, table_hash, vectors_to_arrow


def test_vectors_round_trip_as_fixed_size_lists():
    v = np.random.default_rng(0).normal(size=(5, 7)).astype(np.float32)
    arr = vectors_to_arrow(v)
    assert pa.types.is_fixed_size_list(arr.type) and arr.type.list_size == 7
    np.testing.assert_array_equal(arrow_to_vectors(pa.chunked_array([arr])), v)


def test_nan_vectors_are_refused():
    v = np.ones((3, 4), np.float32)
    v[1, 2] = np.nan
    with pytest.raises(ValueError, match="1 of 3 vectors"):
        vectors_to_arrow(v)


def test_atomic_write_leaves_old_file_when_the_block_fails(tmp_path):
    target = tmp_path / "t.parquet"
    with atomic_path(target) as tmp:
        pq.write_table(pa.table({"a": [1]}), tmp)
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("crash mid-write")
    assert pq.read_table(target)["a"].to_pylist() == [1]
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]


def test_table_hash_ignores_metadata_and_chunking_but_not_content():
    t = pa.table({"a": [1, 2]})
    assert table_hash(t.replace_schema_metadata({"k": "v"})) == table_hash(t)
    assert table_hash(pa.concat_tables([t.slice(0, 1), t.slice(1)])) == table_hash(t)
    assert table_hash(pa.table({"a": [1, 3]})) != table_hash(t)


def test_stored_inputs_key_of_missing_or_unreadable_outputs_is_none(tmp_path):
    assert stored_inputs_key(tmp_path / "nope.parquet") is None
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    assert stored_inputs_key(tmp_path / "bad.parquet") is None
