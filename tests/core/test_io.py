from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from unibind_core.io import (arrow_to_vectors, atomic_path, read_parquet, stored_inputs_key, table_hash,
                             vectors_to_arrow, write_parquet, write_parquet_keyed)


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
    write_parquet(pa.table({"a": [1]}), target)
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("crash mid-write")
    assert read_parquet(target)["a"].to_pylist() == [1]
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]


def test_read_parquet_names_missing_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="manifest of x not found"):
        read_parquet(tmp_path / "nope.parquet", "manifest of x")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(ValueError, match="bad.parquet is unreadable"):
        read_parquet(bad)


def test_table_hash_ignores_metadata_but_not_content(tmp_path):
    t = pa.table({"a": [1, 2]})
    write_parquet_keyed(t, tmp_path / "k.parquet", "key1")
    assert stored_inputs_key(tmp_path / "k.parquet") == "key1"
    assert table_hash(read_parquet(tmp_path / "k.parquet")) == table_hash(t)
    assert table_hash(pa.table({"a": [1, 3]})) != table_hash(t)
