"""GPU batch arithmetic of each model stage: FLOPs per sample counted on the real architectures, and what one
H100 does with them at a stated utilization (this machine has no GPU: these are counts and arithmetic, not
timings; README "At scale" prints them beside the CPU measurements of bench/table_scale.py).

The towers are built on PyTorch's meta device from the configs that ship with open_clip and transformers (no
weights, no memory) and one forward pass is counted by torch.utils.flop_counter (2 FLOP per multiply-add).
Rates: H100 SXM dense bf16 tensor cores 989 TFLOP/s, fp32 without TF32 67 TFLOP/s (NVIDIA's datasheet);
`--mfu` (default 0.4) is the fraction a batched inference pass sustains. The head and evaluation rows are their
GEMM FLOPs at ImageNet size (bench/table_scale.py's shapes).

    .venv/bin/python bench/gpu_arithmetic.py [--mfu 0.4] [--epochs 15]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from torch.utils.flop_counter import FlopCounterMode

import unibind_core  # noqa: F401 - pins the numeric environment before torch loads

BF16_TFLOPS, FP32_TFLOPS = 989.0, 67.0  # H100 SXM, dense
IMAGENET_TRAIN, IMAGENET_TEST, CLASSES, K, DIM = 1_281_167, 50_000, 1000, 50, 1024
OPEN_CLIP = ("ViT-B-32", "ViT-B-16", "ViT-L-14", "ViT-H-14", "ViT-bigG-14")


def counted(fn, *args) -> float:
    """FLOPs of one call (meta tensors: shapes only)."""
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        fn(*args)
    return float(counter.get_total_flops())


def open_clip_rows() -> list[tuple[str, str, float, float]]:
    """(model, tower, FLOP per sample, parameters) of open_clip's image and text towers."""
    import open_clip

    rows = []
    for name in OPEN_CLIP:
        with torch.device("meta"):
            model = open_clip.create_model(name, pretrained=None, device="meta")
        size = model.visual.image_size
        size = size if isinstance(size, int) else size[0]
        image = counted(model.encode_image, torch.empty(1, 3, size, size, device="meta"))
        text = counted(model.encode_text, torch.zeros(1, model.context_length, dtype=torch.long, device="meta"))
        rows.append((name, f"image {size} px", image, sum(p.numel() for p in model.visual.parameters())))
        rows.append(
            (
                name,
                f"text {model.context_length} tokens",
                text,
                sum(p.numel() for p in model.parameters()) - rows[-1][3],
            )
        )
    return rows


def clap_rows() -> list[tuple[str, str, float, float]]:
    """CLAP (transformers' default HTSAT-tiny + RoBERTa config): one 10 s clip's audio tower."""
    from transformers import ClapConfig, ClapModel

    config = ClapConfig()
    with torch.device("meta"):
        model = ClapModel(config)
    a = config.audio_config
    features = torch.empty(1, 1, 1001, a.num_mel_bins, device="meta")  # the feature extractor's 10 s at 48 kHz
    flops = counted(
        lambda x: model.get_audio_features(
            input_features=x, is_longer=torch.zeros(1, 1, dtype=torch.bool, device="meta")
        ),
        features,
    )
    return [
        ("CLAP htsat (default config)", "audio 10 s", flops, sum(p.numel() for p in model.audio_model.parameters()))
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mfu", type=float, default=0.4, help="sustained fraction of the bf16 peak (default 0.4)")
    p.add_argument("--epochs", type=int, default=15, help="head epochs (ImageNet's TrainSpec: 15)")
    a = p.parse_args()
    rate = BF16_TFLOPS * 1e12 * a.mfu
    print(f"one H100 SXM at {a.mfu:.0%} of {BF16_TFLOPS:.0f} bf16 TFLOP/s = {rate / 1e12:.0f} TFLOP/s sustained\n")
    print(f"| model | tower | GFLOP / sample | parameters | samples/s per H100 | {IMAGENET_TRAIN:,} samples |")
    print("|---|---|---|---|---|---|")
    rows = open_clip_rows()
    try:
        rows += clap_rows()
    except Exception as exc:  # a transformers release whose CLAP cannot run on meta tensors: say so, go on
        print(f"(CLAP not counted: {type(exc).__name__}: {exc})", file=sys.stderr)
    for model, tower, flops, params in rows:
        per_s = rate / flops
        print(
            f"| {model} | {tower} | {flops / 1e9:,.1f} | {params / 1e6:,.0f} M | {per_s:,.0f} | "
            f"{IMAGENET_TRAIN / per_s / 60:,.1f} min |"
        )
    head = 3 * 2 * IMAGENET_TRAIN * DIM * DIM + 3 * 2 * IMAGENET_TRAIN * 1024 * DIM  # Linear + (B x B) logits, B 1024
    evaluation = 2 * IMAGENET_TEST * (2 * CLASSES + CLASSES * K) * DIM  # one feature set, three classifiers
    fp32 = FP32_TFLOPS * 1e12
    print(
        f"\nhead (LCL, batch 1024): {head / 1e12:.1f} TFLOP per epoch -> {head / fp32:.2f} s at the fp32 rate, "
        f"{a.epochs} epochs {a.epochs * head / fp32:.0f} s (the loop is latency-bound long before that)"
    )
    print(
        f"evaluation: {evaluation / 1e12:.2f} TFLOP per feature set ({IMAGENET_TEST:,} test x "
        f"{2 * CLASSES + CLASSES * K:,} class vectors x {DIM}) -> {evaluation / fp32:.2f} s at the fp32 rate"
    )


if __name__ == "__main__":
    main()
