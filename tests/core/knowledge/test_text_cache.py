from __future__ import annotations

import numpy as np

from unibind_core.knowledge.text_cache import embed_texts


def test_embeddings_are_real_unit_vectors_with_semantics(minilm):
    v = minilm.encode(["a photo of a dog", "a picture of a puppy", "quarterly tax report"])
    assert v.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


def test_unchanged_texts_are_never_embedded_twice(tmp_path, counting_encoder):
    texts = ["one", "two", "two", "three"]
    first, rep1 = embed_texts(texts, counting_encoder, tmp_path)
    assert rep1.embedded == 3 and rep1.unique == 3
    second, rep2 = embed_texts(["three", "four", "one"], counting_encoder, tmp_path)
    assert rep2.embedded == 1
    assert counting_encoder.calls[-1] == ["four"]
    np.testing.assert_allclose(second[0], first[3], atol=1e-6)
    np.testing.assert_allclose(second[2], first[0], atol=1e-6)


def test_an_unreadable_cache_shard_is_set_aside_and_its_texts_embedded_again(tmp_path, counting_encoder):
    texts = ["one", "two", "three"]
    first, _ = embed_texts(texts, counting_encoder, tmp_path)
    (shard,) = list(tmp_path.rglob("*.parquet"))
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])  # a copy cut short
    again, report = embed_texts(texts, counting_encoder, tmp_path)
    assert report.embedded == 3 and len(report.set_aside) == 1 and shard.name in report.set_aside[0]
    assert shard.with_suffix(".corrupt").is_file()
    np.testing.assert_allclose(again, first, atol=1e-6)
    _, third = embed_texts(texts, counting_encoder, tmp_path)
    assert third.embedded == 0 and not third.set_aside  # the new shard serves the next run


def test_repeated_texts_over_many_shards_fill_every_row_from_the_cache_and_the_encoder(tmp_path, counting_encoder):
    """Rows are filled straight from cache shards and new shards (no dict of vectors): each row is its text's
    vector, however often the text repeats and whether it was cached or new."""
    rng = np.random.default_rng(0)
    words = [f"text {i}" for i in range(40)]
    embed_texts(words[:25], counting_encoder, tmp_path, shard_size=4)  # 7 cache shards
    texts = [words[i] for i in rng.integers(0, 40, 300)]
    vectors, report = embed_texts(texts, counting_encoder, tmp_path, shard_size=4)
    assert report.unique == len(set(texts)) and report.embedded == len(set(texts) - set(words[:25]))
    direct = {t: v for t, v in zip(words, counting_encoder.encode(words))}
    np.testing.assert_allclose(vectors, np.stack([direct[t] for t in texts]), atol=1e-6)
    again, rep = embed_texts(texts, counting_encoder, tmp_path, shard_size=4)
    assert rep.embedded == 0
    np.testing.assert_array_equal(again, vectors)
