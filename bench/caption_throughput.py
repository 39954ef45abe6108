"""Captions/s of the transformers captioners on this CPU with the tests' tiny models, batched and one at a time.

    .venv/bin/python bench/caption_throughput.py [--images 32] [--new-tokens 20] [--batches 1,8,32]

The tiny BLIP-2 (OPT) and LLaVA of tests/core/knowledge/captioners/tiny_captioners.py are built from configs, saved
and loaded through from_pretrained, then caption the same random images with `generate()` at each batch
size (greedy, a fixed answer budget; a batch stops when every row has ended, so the new tokens per
caption are printed beside the rate). The figures measure the generation loop and its padding, not a
real model's quality or speed; docs/deployment.md does the GPU arithmetic for BLIP-2 OPT-2.7b.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "core" / "captioners"))

from tiny_captioners import save_tiny_blip2, save_tiny_llava

from unibind_core.knowledge.captioners import CaptionRequest
from unibind_core.knowledge.captioners.blip2 import Blip2Model
from unibind_core.knowledge.captioners.hf_vlm import HFVisionModel


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=32)
    ap.add_argument("--new-tokens", type=int, default=20)
    ap.add_argument("--batches", default="1,8,32")
    args = ap.parse_args()
    images = [
        Image.fromarray((np.random.default_rng(i).random((64, 64, 3)) * 255).astype(np.uint8))
        for i in range(args.images)
    ]
    requests = [
        CaptionRequest(f"k{i}:0", "Generate a detailed description of this photo", (im,)) for i, im in enumerate(images)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        models = {
            "blip2": Blip2Model(str(save_tiny_blip2(Path(tmp) / "blip2")), "cpu", max_new_tokens=args.new_tokens),
            "hf_vlm": HFVisionModel(str(save_tiny_llava(Path(tmp) / "llava")), "cpu", max_new_tokens=args.new_tokens),
        }
        for name, model in models.items():
            for size in map(int, args.batches.split(",")):
                model.batch_size = size
                list(model.generate(requests[:2]))  # warm-up
                start = time.perf_counter()
                out = list(model.generate(requests))
                elapsed = time.perf_counter() - start
                tokens = sum(reply.tokens_out for _, reply in out)
                print(
                    f"{name:7s} batch {size:3d}: {len(out) / elapsed:6.1f} captions/s, "
                    f"{tokens / len(out):4.1f} new tokens per caption"
                )


if __name__ == "__main__":
    main()
