"""ESC-50's official folds on the demo audio, the cross-validation runs, and what the evaluation rows record."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from unibind_core.core.settings import Settings
from unibind_core.data.benchmarks.spec import BENCHMARKS
from unibind_core.method.centres import normalize
from unibind_core.method.protocols import FOLD_PROTOCOLS, fold_runs, sample_folds
from unibind_core.storage.tables import (
    CENTRES,
    EVALUATIONS,
    FEATURES,
    HEAD_HISTORY,
    TEXT_EMBEDDINGS,
    RowKind,
    Setting,
    SplitProtocol,
)

BENCH = "demo_audio"


@pytest.fixture(scope="module")
def demo_audio(tmp_path_factory):
    """The demo's ESC-50-format audio (8 clips a digit) and its manifest."""
    from unibind_core.demo.world import build_dataset
    from unibind_core.stages.data import stage_manifest

    s = Settings(data_root=tmp_path_factory.mktemp("esc50"), head_epochs=2)
    spec = BENCHMARKS[BENCH]
    build_dataset(spec.demo_writer, s.layout.datasets / spec.root, seed=0, max_per_class=8)
    stage_manifest(s, BENCH)
    return s


def test_folds_are_read_from_the_esc50_metadata_of_the_demo_audio(demo_audio):
    import csv

    from unibind_core.stages.common import read_manifest

    root = demo_audio.layout.datasets / BENCHMARKS[BENCH].root
    folds = FOLD_PROTOCOLS[BENCHMARKS[BENCH].reader].folds(root)
    with open(root / "meta/esc50.csv", newline="") as f:
        expected = {r["filename"].rsplit(".", 1)[0]: int(r["fold"]) for r in csv.DictReader(f)}
    assert folds == expected and set(folds.values()) == {1, 2, 3, 4, 5}
    manifest = read_manifest(demo_audio, BENCH).to_pylist()
    # the reader's fixed split is fold 5 test, fold 4 eval: the folds agree with it sample by sample
    fixed = {r["sample_id"]: r["split"] for r in manifest}
    assert {fixed[i] for i, f in folds.items() if f == 5} == {"test"}
    assert {fixed[i] for i, f in folds.items() if f == 4} == {"eval"}
    with pytest.raises(ValueError, match="1 samples have no fold"):
        sample_folds(FOLD_PROTOCOLS["esc50"], root, ["not-a-clip"], BENCH)


def test_each_fold_is_test_once_and_eval_once_and_train_otherwise():
    runs = fold_runs([3, 1, 2, 5, 4, 5])
    assert [r.fold for r in runs] == [1, 2, 3, 4, 5]
    assert [r.eval_fold for r in runs] == [5, 1, 2, 3, 4]  # fold 5's run is the fixed split (eval 4)
    fold_of = np.array([1, 2, 3, 4, 5, 5])
    for r in runs:
        train, ev, test = r.masks(fold_of)
        assert not (train & ev).any() and not (train & test).any() and (train | ev | test).all()
        assert set(fold_of[train]) == set(r.train_folds) and str(r.fold) in r.definition
    with pytest.raises(ValueError, match="at least 3 folds"):
        fold_runs([1, 2])


def _write_stage_inputs(s: Settings) -> None:
    """Synthetic features, text embeddings (captions of every clip) and centres in one 16-d space."""
    from unibind_core.stages.common import read_classes, read_manifest

    rng = np.random.default_rng(0)
    m = read_manifest(s, BENCH).to_pylist()
    classes = read_classes(s, BENCH)
    means = normalize(rng.normal(size=(len(classes), 16))).astype(np.float32)
    y = np.array([r["class_index"] for r in m])
    x = normalize(means[y] + 0.5 * rng.normal(size=(len(y), 16))).astype(np.float32)
    FEATURES.write(
        FEATURES.table(
            {"sample_id": [r["sample_id"] for r in m], "split": [r["split"] for r in m], "class_index": y.tolist()}, x
        ),
        s.layout.features(BENCH),
    )
    rows, vecs = [], []
    for r, v in zip(m, normalize(means[y] + 0.3 * rng.normal(size=(len(y), 16)))):
        rows.append((r["sample_id"], r["class_key"], RowKind.CAPTION)), vecs.append(v)
    for c in classes:
        for kind, n in ((RowKind.DESCRIPTION, 6), (RowKind.TEMPLATE, 2), (RowKind.SINGLE_TEMPLATE, 1)):
            for j in range(n):
                rows.append((f"{kind}:{c.key}:{j}", c.key, kind))
                vecs.append(normalize(means[c.index] + 0.2 * rng.normal(size=16)))
    TEXT_EMBEDDINGS.write(
        TEXT_EMBEDDINGS.table(
            {
                "ID": [r[0] for r in rows],
                "Category": [r[1] for r in rows],
                "kind": [str(r[2]) for r in rows],
                "text": [r[0] for r in rows],
                "text_hash": [r[0] for r in rows],
            },
            np.stack(vecs).astype(np.float32),
        ),
        s.layout.text_embeddings(BENCH),
    )
    centre_vecs = normalize(np.repeat(means, 3, 0) + 0.1 * rng.normal(size=(3 * len(classes), 16)))
    CENTRES.write(
        CENTRES.table(
            {
                "class_index": np.repeat([c.index for c in classes], 3).tolist(),
                "class_key": np.repeat([c.key for c in classes], 3).tolist(),
                "rank": [0, 1, 2] * len(classes),
                "k": [3] * (3 * len(classes)),
                "ID": [f"c{i}" for i in range(3 * len(classes))],
                "text": [f"c{i}" for i in range(3 * len(classes))],
                "score": [1.0] * (3 * len(classes)),
            },
            centre_vecs.astype(np.float32),
        ),
        s.layout.centres(BENCH),
    )


def test_heads_and_evaluation_run_every_aligner_on_the_fixed_split_and_every_fold(demo_audio):
    from unibind_core.stages.evaluation import stage_evaluation
    from unibind_core.stages.heads import stage_head

    s = demo_audio
    _write_stage_inputs(s)
    head = stage_head(s, BENCH)
    assert head.metadata["heads"] == 3 * 6 and head.metadata["config"]["loop"]["batch_size"] == 128
    history = HEAD_HISTORY.read(s.layout.head_history(BENCH)).to_pylist()
    assert {(r["aligner"], r["fold"]) for r in history} == {
        (a, f) for a in ("lcl", "centrobind", "exmcr") for f in (None, 1, 2, 3, 4, 5)
    }
    result = stage_evaluation(s, BENCH)
    rows = EVALUATIONS.read(s.layout.evaluation(BENCH)).to_pylist()
    n_all = FEATURES.num_rows(s.layout.features(BENCH))
    zero_all = [r for r in rows if r["protocol"] == SplitProtocol.ALL]
    assert {r["n"] for r in zero_all} == {n_all} and {r["setting"] for r in zero_all} == {Setting.ZERO_SHOT}
    cv = [r for r in rows if r["protocol"] == SplitProtocol.CROSS_VALIDATION]
    assert {(r["aligner"], r["fold"]) for r in cv} == {
        (a, f) for a in ("lcl", "centrobind", "exmcr") for f in (1, 2, 3, 4, 5)
    }
    assert sum(r["n"] for r in cv if r["aligner"] == "lcl" and r["classifier"] == "centres") == n_all  # folds partition
    assert all(r["split"] == f"fold {r['fold']}" and f"test fold {r['fold']}" in r["split_definition"] for r in cv)
    fixed = [r for r in rows if r["protocol"] == SplitProtocol.FIXED]
    assert {r["aligner"] for r in fixed if r["setting"] == Setting.FINE_TUNED} == {"lcl", "centrobind", "exmcr"}
    assert all(r["aligner"] is None and r["fold"] is None for r in fixed if r["setting"] == Setting.ZERO_SHOT)
    assert all(r["split"] == "test" and r["split_definition"] for r in fixed)
    for path in result.metadata["plots"]:
        assert pa.py_buffer(open(path, "rb").read(8)).to_pybytes() == b"\x89PNG\r\n\x1a\n"
    assert result.metadata["plot_preview"].count("data:image/png;base64,") == 2
    assert stage_head(s, BENCH).reused  # every head is current: nothing is retrained
