"""Embedding throughput of an open_clip backbone through the pipeline's own code path (issue 8).

Builds the architecture with random weights (no download), saves them to a temporary checkpoint file and
loads it back through `OpenClipBackbone` exactly as `backbone_weights=<file>` does; then times `embed` on
224 px RGB image batches (views, resize, normalization, micro-batches included) and `embed_text` on
template-length texts. Random weights cost the same FLOPs as trained ones.

    .venv/bin/python bench/backbone_throughput.py [--model ViT-B-32] [--n 128] [--batch 32] [--device cpu]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import open_clip
import torch

from unibind_core.encoders.backbone.open_clip import OpenClipBackbone


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="ViT-B-32")
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="auto")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "random.pt"
        torch.save(open_clip.create_model(args.model).state_dict(), weights)
        backbone = OpenClipBackbone(args.model, str(weights), args.device, args.dtype, args.batch)
    images = torch.rand(args.n, 3, 224, 224)
    texts = [f"a photo of a {i}, a type of object." for i in range(args.n)]
    backbone.embed("image", images[: args.batch])  # warm-up
    if backbone.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    backbone.embed("image", images)
    image_s = time.perf_counter() - start
    start = time.perf_counter()
    backbone.embed_text(texts)
    text_s = time.perf_counter() - start
    print(
        f"{args.model} on {backbone.device} {backbone.dtype}, micro-batch {args.batch}, "
        f"torch threads {torch.get_num_threads()}: {args.n / image_s:.1f} images/s (224 px), "
        f"{args.n / text_s:.1f} texts/s"
    )


if __name__ == "__main__":
    main()
