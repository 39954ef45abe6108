"""Micro-batches halve on CUDA out-of-memory: a tiny module raises a fake OOM above a batch size, inside
the real open_clip backbone loaded from its checkpoint."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from unibind_core.encoders.backbone.base import MicroBatcher
from unibind_core.encoders.backbone.open_clip import OpenClipBackbone


class OomAbove(nn.Module):
    """Wraps a tower; a batch of more than `limit` rows raises what CUDA raises when memory runs out."""

    def __init__(self, inner: nn.Module, limit: int) -> None:
        super().__init__()
        self.inner, self.limit, self.seen = inner, limit, []

    def forward(self, x: torch.Tensor, *args, **kwargs):
        self.seen.append(len(x))
        if len(x) > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (fake)")
        return self.inner(x, *args, **kwargs)


def test_the_micro_batch_halves_until_it_fits_and_the_results_are_unchanged(tiny_open_clip, open_clip_backbone):
    name, weights = tiny_open_clip
    backbone = OpenClipBackbone(name, str(weights), device="cpu", batch_size=8)
    x = torch.rand(7, 3, 32, 32)
    reference = open_clip_backbone.embed("image", x)
    backbone.model.visual = OomAbove(backbone.model.visual, limit=2)
    out = backbone.embed("image", x)
    torch.testing.assert_close(out, reference)
    assert backbone.batcher.size == 2 and backbone.batcher.halvings == 2
    assert backbone.model.visual.seen == [7, 4, 2, 2, 2, 1]  # 8 -> 4 -> 2, then every micro-batch fits
    backbone.embed("image", x)
    assert backbone.model.visual.seen[6:] == [2, 2, 2, 1]  # the halved size is kept


def test_oom_at_one_row_and_other_errors_are_raised():
    def oom(chunk):
        raise torch.OutOfMemoryError("CUDA out of memory (fake)")

    batcher = MicroBatcher(4)
    with pytest.raises(torch.OutOfMemoryError):
        batcher(oom, torch.zeros(3, 2))
    assert batcher.size == 1
    with pytest.raises(ValueError, match="not memory"):
        MicroBatcher(4)(lambda c: (_ for _ in ()).throw(ValueError("not memory")), torch.zeros(3, 2))


def test_lists_of_texts_are_batched_in_order():
    out = MicroBatcher(2)(lambda chunk: torch.tensor([[len(t)] for t in chunk]), ["a", "bb", "ccc", "dddd", "e"])
    assert out[:, 0].tolist() == [1, 2, 3, 4, 1]
