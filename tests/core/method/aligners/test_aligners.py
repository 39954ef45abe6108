"""Each aligner lowers its own loss on demo-like data, starts at zero-shot and round-trips through safetensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unibind_core.core.errors import ConfigError
from unibind_core.core.settings import Settings
from unibind_core.method.aligners import ALIGNERS, AlignData
from unibind_core.method.aligners.centrobind import CentroBind
from unibind_core.method.aligners.exmcr import ExMCR, aggregate
from unibind_core.method.aligners.loop import HeadConfig, fit
from unibind_core.method.aligners.store import load_aligned, metadata, project, save_aligned
from unibind_core.method.centres import normalize


def _demo_like(seed: int = 0, n_classes: int = 4, per_class: int = 48, dim: int = 16) -> AlignData:
    """Data in a rotated copy of the text space (as the demo's non-image modalities are), captions and
    descriptions near their class's text direction, centres the class's best descriptions."""
    rng = np.random.default_rng(seed)
    text_means = normalize(rng.normal(size=(n_classes, dim)))
    q, _ = np.linalg.qr(np.eye(dim) + 0.6 * rng.normal(size=(dim, dim)))
    y = np.repeat(np.arange(n_classes), per_class)
    x = normalize((text_means[y] + 0.35 * rng.normal(size=(len(y), dim))) @ q).astype(np.float32)
    captions = normalize(text_means[y] + 0.3 * rng.normal(size=(len(y), dim))).astype(np.float32)
    texts = normalize(np.repeat(text_means, 12, 0) + 0.25 * rng.normal(size=(12 * n_classes, dim))).astype(np.float32)
    centres, centre_class = texts, np.repeat(np.arange(n_classes), 12)
    tr, ev = np.arange(len(y)) % 4 != 0, np.arange(len(y)) % 4 == 0
    return AlignData(
        x[tr], y[tr], captions[tr], np.arange(int(tr.sum())), centres, centre_class, x[ev], y[ev], texts=texts
    )


def _loss(aligner, data: AlignData, module) -> float:
    objective = aligner.objective(data, torch.device("cpu"))
    with torch.no_grad():
        return float(objective.loss(module, torch.arange(objective.n_items)))


@pytest.mark.parametrize("name", sorted(ALIGNERS))
def test_each_aligner_lowers_its_loss_starts_at_zero_shot_and_round_trips(name, tmp_path):
    data = _demo_like()
    aligner = ALIGNERS[name]()
    start = aligner.build(data.train_x.shape[1])
    np.testing.assert_allclose(project(start, data.eval_x), data.eval_x, atol=1e-5)  # step 0 is zero-shot
    module, history = fit(aligner, data, HeadConfig(batch_size=32, lr=5e-3, epochs=6), label=name)
    assert history[0]["step"] == 0 and history[-1]["step"] > 0
    assert _loss(aligner, data, module) < _loss(aligner, data, start) - 0.05
    path = save_aligned(tmp_path / f"{name}.safetensors", aligner, module, "key", {})
    assert metadata(path)["aligner"] == name
    loaded_aligner, loaded = load_aligned(path, data.train_x.shape[1])
    assert loaded_aligner == aligner and type(loaded) is type(module)
    np.testing.assert_array_equal(project(loaded, data.eval_x), project(module, data.eval_x))


def test_eval_every_n_steps_evaluates_at_those_steps_and_keeps_the_best():
    data = _demo_like()
    _, per_epoch = fit(ALIGNERS["lcl"](), data, HeadConfig(batch_size=32, lr=5e-3, epochs=3))
    module, every = fit(ALIGNERS["lcl"](), data, HeadConfig(batch_size=32, lr=5e-3, epochs=3, eval_every=2))
    steps_per_epoch = -(-len(data.train_x) // 32)
    assert [r["step"] for r in per_epoch] == [0] + [steps_per_epoch * e for e in (1, 2, 3)]
    total = 3 * steps_per_epoch
    assert [r["step"] for r in every] == sorted(set(range(0, total + 1, 2)) | {total})  # and the last step
    from unibind_core.method.centres import predict_with_centres

    kept = (predict_with_centres(project(module, data.eval_x), data.centres, data.centre_class) == data.eval_y).mean()
    assert kept == pytest.approx(max(r["eval_accuracy"] for r in every))


def test_centrobind_anchor_detach_changes_the_gradient_and_weights_count():
    data = _demo_like()
    idx = torch.arange(16)
    grads = {}
    for detach in (True, False):
        aligner = CentroBind(detach_anchor=detach)
        module = aligner.build(data.train_x.shape[1])
        aligner.objective(data, torch.device("cpu")).loss(module, idx).backward()
        grads[detach] = module.weight.grad.clone()
    assert not torch.allclose(grads[True], grads[False])
    only_data = CentroBind(caption_weight=0, centre_weight=0, paired_weight=0)
    module = only_data.build(data.train_x.shape[1])
    # the anchor of the data alone is the data itself: its InfoNCE is the lowest a batch can score
    with torch.no_grad():
        value = float(only_data.objective(data, torch.device("cpu")).loss(module, idx))
        assert value < float(CentroBind().objective(data, torch.device("cpu")).loss(module, idx))


def test_exmcr_pseudo_pairs_come_through_the_texts_without_captions_or_labels():
    data = _demo_like()
    a, b, text = ExMCR().pseudo_pairs(data)
    n, r = len(data.train_x), len(data.texts)
    assert a.shape == b.shape == text.shape == (n + r, data.train_x.shape[1])
    np.testing.assert_allclose(text[n:], data.texts, atol=1e-6)  # text-start pairs keep the text itself
    # a sample's pseudo text is its nearest texts' weighted mean: with k = 1 exactly its nearest text
    nearest = data.texts[(data.train_x @ data.texts.T).argmax(1)]
    np.testing.assert_allclose(aggregate(data.train_x, data.texts, 1, 0.05), nearest, atol=1e-6)
    shuffled = AlignData(
        **{**data.__dict__, "train_y": np.zeros_like(data.train_y), "captions": np.roll(data.captions, 7, 0)}
    )
    np.testing.assert_array_equal(ExMCR().pseudo_pairs(shuffled)[2], text)  # labels and captions are not used
    with pytest.raises(ValueError, match="knowledge-base text"):
        ExMCR().pseudo_pairs(AlignData(**{**data.__dict__, "texts": None}))


def test_exmcr_caps_sample_the_pairs_and_pools_and_change_nothing_below_them():
    data = _demo_like()  # 144 training samples, 48 texts
    n, r = len(data.train_x), len(data.texts)
    full = ExMCR().pseudo_pairs(data)
    for same in (ExMCR(max_pairs=n + r, pool_size=n), ExMCR(max_pairs=None, pool_size=None)):
        for got, want in zip(same.pseudo_pairs(data), full):
            np.testing.assert_array_equal(got, want)  # within the caps: the all-pairs pseudo-pairs, bit for bit
    capped = ExMCR(max_pairs=40, pool_size=20)
    pairs = capped.retrieve(data)
    assert len(pairs) == 40 and len(pairs.x_rows) == 30 and len(pairs.t_rows) == 10  # in proportion 144 : 48
    pooled_x = set(np.unique(np.r_[pairs.x_of_tilde.ids.ravel(), pairs.x_of_t.ids.ravel()]).tolist())
    pooled_t = set(np.unique(pairs.texts_of_x.ids).tolist())
    assert len(pooled_x) <= 20 and len(pooled_t) <= 20  # every neighbour from the 20-row pools
    a, b, text = pairs.rows(np.arange(40))
    np.testing.assert_allclose(a[:30], normalize(data.train_x[pairs.x_rows]), atol=1e-6)  # a pair keeps its sample
    np.testing.assert_allclose(text[30:], data.texts[pairs.t_rows], atol=1e-6)  # ... and a text pair its text
    again = capped.retrieve(data)
    np.testing.assert_array_equal(again.x_rows, pairs.x_rows)  # seeded: the same subsets every run
    np.testing.assert_array_equal(again.texts_of_x.ids, pairs.texts_of_x.ids)
    objective = capped.objective(data, torch.device("cpu"))
    assert objective.n_items == 40
    with pytest.raises(ValueError, match="exmcr_pool must be at least 1"):
        Settings.from_mapping({"data_root": ".", "alignment": {"exmcr_pool": 0}})


def test_aligners_are_chosen_by_name_from_the_settings(tmp_path):
    s = Settings.from_mapping(
        {
            "data_root": tmp_path,
            "aligner": "centrobind",
            "compare_aligners": "lcl, exmcr,lcl",
            "alignment": {"detach_anchor": False, "exmcr_top_k": 3},
        }
    )
    assert s.aligner_names() == ["centrobind", "lcl", "exmcr"]
    assert ALIGNERS.from_settings("centrobind", s).detach_anchor is False
    assert ALIGNERS.from_settings("exmcr", s).top_k == 3
    with pytest.raises(ConfigError, match="unknown aligner 'nope'"):
        Settings(data_root=tmp_path, compare_aligners="nope")


@pytest.mark.gpu  # deselected by default; the device checks select it (-m gpu)
@pytest.mark.parametrize("name", sorted(ALIGNERS))
def test_training_on_cuda_under_bf16_autocast_lowers_the_loss_and_returns_a_cpu_module(name):
    data = _demo_like()
    aligner = ALIGNERS[name]()
    module, history = fit(aligner, data, HeadConfig(batch_size=32, lr=5e-3, epochs=6, device="cuda", dtype="bf16"))
    assert next(module.parameters()).device.type == "cpu"
    assert _loss(aligner, data, module) < _loss(aligner, data, aligner.build(data.train_x.shape[1])) - 0.05
    assert max(r["eval_accuracy"] for r in history) >= history[0]["eval_accuracy"]


def test_centrobind_centre_member_is_the_class_mean_and_a_class_without_centres_is_named():
    data = _demo_like()
    aligner = CentroBind(data_weight=0, caption_weight=0)  # the anchor is the class's centre mean alone
    idx = torch.arange(len(data.train_x))
    anchor = aligner.anchor(data, aligner.build(data.train_x.shape[1]), idx).numpy()
    means = normalize(np.stack([data.centres[data.centre_class == c].mean(0) for c in range(data.n_classes)]))
    np.testing.assert_allclose(anchor, means[data.train_y], atol=1e-5)
    lonely = AlignData(**{**data.__dict__, "train_y": np.where(data.train_y == 3, 4, data.train_y)})  # class 4: none
    with pytest.raises(ValueError, match=r"classes \[4\] have no centres"):
        aligner.anchor(lonely, aligner.build(data.train_x.shape[1]), idx)
