"""On a CUDA machine (select with -m gpu): the tiny open_clip backbone in bf16 agrees with CPU float32, and the
features and head-training stages run on CUDA in bf16."""

from __future__ import annotations

import pytest
import torch

from unibind_core.encoders.backbone.open_clip import OpenClipBackbone

pytestmark = pytest.mark.gpu


def test_cuda_bf16_embeddings_match_cpu_fp32(tiny_open_clip, open_clip_backbone):
    assert torch.cuda.is_available(), "the gpu marker needs a CUDA device"
    name, weights = tiny_open_clip
    gpu = OpenClipBackbone(name, str(weights), device="auto", dtype="auto", batch_size=64)
    assert gpu.device.type == "cuda" and gpu.dtype in (torch.bfloat16, torch.float16)
    for modality, x in (("image", torch.rand(8, 3, 32, 32)), ("point", torch.rand(4, 512, 3) * 2 - 1)):
        a, b = gpu.embed(modality, x), open_clip_backbone.embed(modality, x)
        assert a.dtype == torch.float32 and a.device.type == "cpu"
        assert torch.nn.functional.cosine_similarity(a, b).min() > 0.99
    texts = ["a photo of a cat", "word " * 100]
    assert (
        torch.nn.functional.cosine_similarity(gpu.embed_text(texts), open_clip_backbone.embed_text(texts)).min() > 0.99
    )


def test_features_and_head_training_run_on_cuda_in_bf16(tmp_path, tiny_open_clip):
    """The pipeline path on the GPU: data_embeddings through the tiny open_clip on CUDA, then aligned_heads
    with the settings' device and dtype (bf16 autocast), recorded in the stage's metadata."""
    from unibind_core.core.settings import Settings
    from unibind_core.stages.centres import stage_centres
    from unibind_core.stages.data import stage_features, stage_manifest, stage_world
    from unibind_core.stages.evaluation import stage_evaluation
    from unibind_core.stages.heads import stage_head
    from unibind_core.stages.knowledge import (
        stage_captions,
        stage_descriptions,
        stage_kb,
        stage_text_embeddings,
    )

    assert torch.cuda.is_available() and torch.cuda.is_bf16_supported(), "needs a CUDA device with bf16"
    name, weights = tiny_open_clip
    s = Settings(
        data_root=tmp_path,
        profile="demo",
        demo_max_per_class=6,
        descriptions_per_category=6,
        k=3,
        head_epochs=3,
        backbone="open_clip",
        backbone_model=name,
        backbone_weights=str(weights),
        device="cuda",
        dtype="bf16",
        batch_size=32,
    )
    bench = "demo_image"
    stage_world(s)
    for stage in (stage_manifest, stage_descriptions, stage_captions, stage_kb, stage_text_embeddings):
        stage(s, bench)
    features = stage_features(s, bench)
    assert features.checks["vectors_valid"].passed
    assert stage_centres(s, bench).checks["centres_valid"].passed
    head = stage_head(s, bench)
    assert head.metadata["device"].startswith("cuda") and head.metadata["dtype"] == "bfloat16"
    assert head.metadata["config"]["loop"]["device"] == "cuda" and head.metadata["config"]["loop"]["dtype"] == "bf16"
    assert 0.0 <= head.metrics["eval_accuracy_best"] <= 1.0
    accuracies = [v for k, v in stage_evaluation(s, bench).metrics.items() if k.startswith("accuracy/")]
    assert accuracies and all(0 <= a <= 1 for a in accuracies)
