"""On a CUDA machine (select with -m gpu): the tiny open_clip backbone in bf16 agrees with CPU float32."""
from __future__ import annotations

import pytest
import torch

from unibind_core.backbone.open_clip import OpenClipBackbone

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
    assert torch.nn.functional.cosine_similarity(gpu.embed_text(texts), open_clip_backbone.embed_text(texts)).min() > 0.99
