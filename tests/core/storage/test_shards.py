"""Row shards: the plan covers every row once, keys round-trip, a damaged shard is not counted as done,
and a table written in parts equals the table written whole."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from unibind_core.storage.shards import Shard, ShardFiles, plan_shards
from unibind_core.storage.tables import FEATURES, TEXT_EMBEDDINGS


@pytest.mark.parametrize("rows,size", [(0, 4), (1, 4), (8, 4), (9, 4), (10_000, 8192)])
def test_the_plan_covers_every_row_once_in_order(rows, size):
    shards = plan_shards(rows, size)
    covered = [i for s in shards for i in range(s.start, s.stop)]
    assert covered == list(range(rows))
    assert all(0 < len(s) <= size for s in shards)
    assert [Shard.from_key(s.key) for s in shards] == shards


def test_bad_sizes_and_keys_are_refused():
    with pytest.raises(ValueError, match="at least 1"):
        plan_shards(10, 0)
    for key in ("3_3", "a_b", "5-9", "9_5"):
        with pytest.raises(ValueError, match="not a shard key"):
            Shard.from_key(key)


def _features(n: int, seed: int = 0, offset: int = 0):
    v = np.random.default_rng(seed).normal(size=(n, 8)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    ids = [f"s{offset + i:04d}" for i in range(n)]
    return FEATURES.table({"sample_id": ids, "split": ["train"] * n, "class_index": [i % 3 for i in range(n)]}, v)


def test_stored_shards_are_done_only_under_their_key_and_when_readable(tmp_path):
    files = ShardFiles(tmp_path, "key1", FEATURES)
    shard = Shard(0, 5)
    assert not files.done(shard)
    files.write(shard, _features(5), {"failures": [{"path": "x", "reason": "bad"}]})
    assert files.done(shard) and files.facts(shard) == {"failures": [{"path": "x", "reason": "bad"}]}
    assert not ShardFiles(tmp_path, "key2", FEATURES).done(shard)  # another computation's folder
    path = files.path(shard)
    path.write_bytes(path.read_bytes()[:40])  # torn by a crash of the disk, not of the atomic write
    assert not files.done(shard) and not path.exists()
    files.write(shard, _features(5))
    files.remove()
    assert not tmp_path.exists()


def test_a_table_written_in_parts_equals_the_table_written_whole(tmp_path):
    parts = [_features(5, 0, 0), _features(0, 1, 5), _features(7, 2, 5)]
    rows = FEATURES.write_stream(iter(parts), tmp_path / "parts.parquet", inputs_key="k", stamps={"space": "x"})
    import pyarrow as pa

    FEATURES.write(pa.concat_tables(parts), tmp_path / "whole.parquet", inputs_key="k", stamps={"space": "x"})
    assert rows == 12
    assert pq.read_table(tmp_path / "parts.parquet").equals(pq.read_table(tmp_path / "whole.parquet"))
    assert FEATURES.stamp(tmp_path / "parts.parquet", "space") == "x"
    assert FEATURES.verify(tmp_path / "parts.parquet") == 12


def test_writing_in_parts_refuses_what_it_cannot_keep_true(tmp_path):
    with pytest.raises(ValueError, match="sorted table cannot be written in parts"):
        TEXT_EMBEDDINGS.write_stream(iter([]), tmp_path / "t.parquet")
    with pytest.raises(ValueError, match="nothing to write"):
        FEATURES.write_stream(iter([]), tmp_path / "f.parquet")
    bad = _features(3)
    bad = bad.set_column(
        bad.schema.get_field_index("vector"),
        "vector",
        FEATURES.table(
            {"sample_id": ["a"] * 3, "split": ["train"] * 3, "class_index": [0] * 3}, np.full((3, 8), 2.0, np.float32)
        )["vector"],
    )
    with pytest.raises(ValueError, match="not finite unit vectors"):
        FEATURES.write_stream(iter([_features(2), bad]), tmp_path / "f.parquet")
    assert not (tmp_path / "f.parquet").exists()  # nothing half-written is left
