"""CentroBind's paired member on the demo's image <-> event pair: the head stage joins each recording's image
(and each image's recording) from the partner's frozen features, records how many samples had one, and the
anchor then differs from the anchor without a partner."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
import torch

from unibind_core.core.settings import Settings
from unibind_core.data.benchmarks.spec import BENCHMARKS, partners_of
from unibind_core.method.aligners.centrobind import CentroBind
from unibind_core.method.aligners.loop import HeadConfig, fit
from unibind_core.method.aligners.store import metadata
from unibind_core.method.centres import normalize
from unibind_core.storage.tables import CENTRES, FEATURES, HEAD_HISTORY, TEXT_EMBEDDINGS, RowKind, Split

DIM = 16


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> Settings:
    """The demo's image and event datasets (8 digits a class), their manifests and synthetic stage inputs: the
    event features a rotated, noisy copy of the image space; captions and centres near each class's direction."""
    from unibind_core.demo.world import build_dataset
    from unibind_core.stages.common import read_classes, read_manifest
    from unibind_core.stages.data import stage_manifest

    s = Settings(data_root=tmp_path_factory.mktemp("pair"), aligner="centrobind", compare_aligners="", head_epochs=8)
    rng = np.random.default_rng(0)
    means = normalize(rng.normal(size=(10, DIM))).astype(np.float32)
    rotation = np.linalg.qr(np.eye(DIM) + 0.5 * rng.normal(size=(DIM, DIM)))[0].astype(np.float32)
    for bench in ("demo_image", "demo_event"):
        spec = BENCHMARKS[bench]
        build_dataset(spec.demo_writer, s.layout.datasets / spec.root, seed=0, max_per_class=8)
        stage_manifest(s, bench)
        m = read_manifest(s, bench).to_pylist()
        y = np.array([r["class_index"] for r in m])
        x = normalize(means[y] + 0.4 * rng.normal(size=(len(y), DIM))).astype(np.float32)
        if bench == "demo_event":
            x = normalize(x @ rotation).astype(np.float32)
        FEATURES.write(
            FEATURES.table(
                {"sample_id": [r["sample_id"] for r in m], "split": [r["split"] for r in m], "class_index": y.tolist()},
                x,
            ),
            s.layout.features(bench),
        )
        classes = read_classes(s, bench)
        rows = [(r["sample_id"], r["class_key"], RowKind.CAPTION) for r in m]
        rows += [(f"{c.key}:{j}", c.key, RowKind.DESCRIPTION) for c in classes for j in range(3)]
        vectors = np.concatenate(
            [
                normalize(means[y] + 0.3 * rng.normal(size=(len(y), DIM))),
                normalize(np.repeat(means, 3, 0) + 0.2 * rng.normal(size=(30, DIM))),
            ]
        )
        TEXT_EMBEDDINGS.write(
            TEXT_EMBEDDINGS.table(
                {
                    "ID": [r[0] for r in rows],
                    "Category": [r[1] for r in rows],
                    "kind": [str(r[2]) for r in rows],
                    "text": [r[0] for r in rows],
                    "text_hash": [r[0] for r in rows],
                },
                vectors.astype(np.float32),
            ),
            s.layout.text_embeddings(bench),
        )
        CENTRES.write(
            CENTRES.table(
                {
                    "class_index": np.repeat(np.arange(10), 3).tolist(),
                    "class_key": [c.key for c in classes for _ in range(3)],
                    "rank": [0, 1, 2] * 10,
                    "k": [3] * 30,
                    "ID": [f"c{i}" for i in range(30)],
                    "text": [f"c{i}" for i in range(30)],
                    "score": [1.0] * 30,
                },
                vectors[len(y) :].astype(np.float32),
            ),
            s.layout.centres(bench),
        )
    return s


def test_pairs_are_found_both_ways_among_the_profiles_benchmarks():
    assert partners_of("demo_event", ["demo_image", "demo_event", "demo_audio"]) == ("demo_image",)
    assert partners_of("demo_image", ["demo_image", "demo_event"]) == ("demo_event",)
    assert partners_of("demo_image", ["demo_image", "demo_audio"]) == () == partners_of("demo_audio", ["demo_event"])


def test_centrobind_on_the_demo_pair_uses_the_partner_records_it_and_lowers_its_loss(pair):
    from unibind_core.stages.common import read_manifest
    from unibind_core.stages.head_inputs import HeadInputs, align_data
    from unibind_core.stages.heads import stage_head
    from unibind_core.stages.runs import HeadRun

    s = pair
    data = align_data(HeadInputs(s, "demo_event"), HeadRun("centrobind"))
    manifest = read_manifest(s, "demo_event").to_pylist()
    n_train = sum(r["split"] == Split.TRAIN for r in manifest)
    assert data.paired.shape == (n_train, DIM) and not np.isnan(data.paired).any()  # every recording has its image
    image_rows, image_x = FEATURES.read_vectors(s.layout.features("demo_image"), ("sample_id",))
    image_of = dict(zip(image_rows["sample_id"].to_pylist(), image_x))
    train_ids = [r["sample_id"] for r in manifest if r["split"] == Split.TRAIN]  # the demo names both alike
    np.testing.assert_allclose(data.paired, np.stack([image_of[i] for i in train_ids]), atol=1e-6)

    aligner, idx = CentroBind(), torch.arange(n_train)
    head = aligner.build(DIM)
    alone = type(data)(**{**data.__dict__, "paired": None})
    with torch.no_grad():
        with_image, without = aligner.anchor(data, head, idx), aligner.anchor(alone, head, idx)
    assert (with_image * without).sum(1).mean() < 0.999  # the image moved the centroid

    _, history = fit(aligner, data, HeadConfig(batch_size=16, lr=5e-3, epochs=8), label="pair")
    assert history[-1]["loss"] < history[1]["loss"] - 0.05  # the training loss, partner member included, falls

    result = stage_head(s, "demo_event")
    assert result.metadata["partners"] == ["demo_image"]
    assert result.metadata["samples_with_partner"] == {"centrobind": n_train}
    assert metadata(s.layout.head("demo_event"))["samples_with_partner"] == str(n_train)
    assert {r["aligner"] for r in HEAD_HISTORY.read(s.layout.head_history("demo_event")).to_pylist()} == {"centrobind"}
    image = stage_head(s, "demo_image")  # the other way round: each image's recording
    assert image.metadata["samples_with_partner"] == {"centrobind": n_train}
    assert stage_head(s, "demo_event").reused


def test_a_partner_test_split_is_never_joined_and_a_changed_partner_retrains(pair):
    from unibind_core.stages.partners import partner_features

    s = pair
    partners = partner_features(s, "demo_event")
    from unibind_core.stages.common import read_manifest

    splits = {r["sample_id"]: r["split"] for r in read_manifest(s, "demo_image").to_pylist()}
    found = {i for i, row in partners.index.items() if not np.isnan(partners.vectors[row]).any()}
    assert found and all(splits[i] != Split.TEST for i in found)
    assert {i for i in splits if splits[i] != Split.TEST} == found
    assert partner_features(s, "demo_event", ["demo_event", "demo_audio"]) is None  # partner outside the profile

    from unibind_core.stages.heads import stage_head

    stage_head(s, "demo_event")
    rows, x = FEATURES.read_vectors(s.layout.features("demo_image"), ("sample_id", "split", "class_index"))
    FEATURES.write(
        FEATURES.table({c: rows[c].to_pylist() for c in rows.column_names}, x[::-1].copy()),
        s.layout.features("demo_image"),
    )
    assert not stage_head(s, "demo_event").reused  # CentroBind read the partner: its head is trained again
    lcl_only = Settings(data_root=s.data_root, aligner="lcl", compare_aligners="", head_epochs=8)
    stage_head(lcl_only, "demo_event")
    FEATURES.write(
        FEATURES.table({c: rows[c].to_pylist() for c in rows.column_names}, x), s.layout.features("demo_image")
    )
    assert stage_head(lcl_only, "demo_event").reused  # lcl never reads the partner


def test_samples_without_a_caption_are_left_out_of_training_and_counted(pair, tmp_path):
    """A sample the captioner flagged or could not read has no caption: heads train on the others."""
    import dataclasses
    import shutil

    import pyarrow.compute as pc

    from unibind_core.stages.common import read_manifest
    from unibind_core.stages.head_inputs import HeadInputs, align_data
    from unibind_core.stages.heads import stage_head
    from unibind_core.stages.runs import HeadRun

    shutil.copytree(pair.data_root, tmp_path / "data")
    s = dataclasses.replace(pair, data_root=tmp_path / "data", aligner="lcl")
    path = s.layout.text_embeddings("demo_image")
    texts = TEXT_EMBEDDINGS.read(path)
    train = [r["sample_id"] for r in read_manifest(s, "demo_image").to_pylist() if r["split"] == Split.TRAIN]
    TEXT_EMBEDDINGS.write(texts.filter(pc.invert(pc.is_in(texts["ID"], pa.array(train[:2])))), path)
    data = align_data(HeadInputs(s, "demo_image"), HeadRun("lcl"))
    assert len(data.train_x) == len(train) - 2 == len(data.caption_index)
    assert stage_head(s, "demo_image").metadata["train_without_caption"] == 2

    TEXT_EMBEDDINGS.write(texts.filter(pc.invert(pc.is_in(texts["ID"], pa.array(train)))), path)
    with pytest.raises(ValueError, match="none of the .* training samples has a caption embedding"):
        align_data(HeadInputs(s, "demo_image"), HeadRun("lcl"))


def test_a_partner_without_features_is_left_out_named_and_its_arrival_retrains(pair):
    """Any partition order: N-Caltech101's head may train before Caltech-101's features exist (the README
    loop). It trains without the partner member, names the missing partner, and is stale once it exists."""
    from unibind_core.stages.heads import stage_head

    s = pair
    features = s.layout.features("demo_image")
    kept = features.with_name("kept.parquet")
    features.rename(kept)
    try:
        alone = stage_head(s, "demo_event")
        assert not alone.reused
        assert alone.metadata["partners"] == [] and alone.metadata["partners_missing"] == ["demo_image"]
        assert alone.metadata["samples_with_partner"] == {"centrobind": 0}
        assert metadata(s.layout.head("demo_event"))["partners_missing"] == "demo_image"
        assert stage_head(s, "demo_event").reused  # nothing changed: the absence is part of the inputs key
    finally:
        kept.rename(features)
    joined = stage_head(s, "demo_event")
    assert not joined.reused and joined.metadata["partners"] == ["demo_image"]
    assert joined.metadata["partners_missing"] == [] and joined.metadata["samples_with_partner"]["centrobind"] > 0


def test_only_exmcr_reads_the_descriptions_and_the_fixed_runs_share_one_feature_array(pair, tmp_path):
    """The head's inputs are read once: LCL and CentroBind never load the C x M description vectors, and every
    aligner's fixed run trains on the same (N, D) array, the uncaptioned rows filtered out once."""
    import dataclasses
    import shutil

    import pyarrow.compute as pc

    from unibind_core.stages.common import read_manifest
    from unibind_core.stages.head_inputs import HeadInputs, align_data
    from unibind_core.stages.runs import HeadRun

    shutil.copytree(pair.data_root, tmp_path / "data")
    s = dataclasses.replace(pair, data_root=tmp_path / "data")
    path = s.layout.text_embeddings("demo_image")
    texts = TEXT_EMBEDDINGS.read(path)
    train = [r["sample_id"] for r in read_manifest(s, "demo_image").to_pylist() if r["split"] == Split.TRAIN]
    TEXT_EMBEDDINGS.write(texts.filter(pc.invert(pc.is_in(texts["ID"], pa.array(train[:1])))), path)
    inputs = HeadInputs(s, "demo_image")
    lcl, centrobind = align_data(inputs, HeadRun("lcl")), align_data(inputs, HeadRun("centrobind"))
    assert lcl.texts is None and centrobind.texts is None and "texts" not in vars(inputs)  # never read
    exmcr = align_data(inputs, HeadRun("exmcr"))
    assert exmcr.texts is not None and len(exmcr.texts) == 30 and "texts" in vars(inputs)
    assert len(lcl.train_x) == len(train) - 1
    assert lcl.train_x is centrobind.train_x is exmcr.train_x  # one filtered copy, shared by the runs


def test_large_head_inputs_are_held_in_float16_and_every_aligner_still_trains(pair, tmp_path):
    """input_dtype auto: above input_float32_gib the training features, captions and descriptions are held in
    float16 (half the memory) and each batch computed in float32; the precision is in the heads' key."""
    import dataclasses
    import shutil

    from unibind_core.method.aligners.config import AlignmentConfig
    from unibind_core.method.aligners.store import metadata
    from unibind_core.stages.head_inputs import HeadInputs, align_data, input_float32_bytes
    from unibind_core.stages.heads import stage_head
    from unibind_core.stages.runs import HeadRun

    shutil.copytree(pair.data_root, tmp_path / "data")
    base = dataclasses.replace(pair, data_root=tmp_path / "data", compare_aligners="centrobind,exmcr", head_epochs=2)
    small = HeadInputs(base, "demo_image", with_texts=True)
    assert small.dtype is np.float32  # the demo's inputs are far below 4 GiB
    tiny = (input_float32_bytes(base, "demo_image", True) + input_float32_bytes(base, "demo_image", False)) / 2**31
    s = dataclasses.replace(base, alignment=AlignmentConfig(input_float32_gib=tiny))
    big = HeadInputs(s, "demo_image", with_texts=True)
    assert big.dtype is np.float16 and HeadInputs(s, "demo_image").dtype is np.float32  # descriptions tip it
    half, full = align_data(big, HeadRun("exmcr")), align_data(small, HeadRun("exmcr"))
    assert half.train_x.dtype == half.captions.dtype == half.texts.dtype == np.float16
    assert half.eval_x.dtype == np.float32 and half.centres.dtype == np.float32
    np.testing.assert_allclose(half.train_x, full.train_x, atol=1e-3)
    result = stage_head(s, "demo_image")
    assert result.metrics["eval_accuracy_best"] > 0
    assert {"centrobind", "exmcr"} <= set(result.metadata["aligners"])
    assert json.loads(metadata(s.layout.head("demo_image"))["config"])["input_dtype"] == "float16"
    forced = dataclasses.replace(s, alignment=AlignmentConfig(input_dtype="float32", input_float32_gib=tiny))
    assert not stage_head(forced, "demo_image").reused  # another precision: another head
