"""Tiny models of each backbone family, built from configs with random weights and saved to local files,
so the tests load them through the same path users take (no hub, no download)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

TINY_OPEN_CLIP = "unibind-tiny-clip"
TINY_OPEN_CLIP_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def register_tiny_open_clip(folder: Path) -> str:
    """A tiny ViT architecture known to open_clip by name (as ViT-B-32 is): a config JSON file."""
    import open_clip

    path = folder / f"{TINY_OPEN_CLIP}.json"
    path.write_text(json.dumps(TINY_OPEN_CLIP_CFG))
    open_clip.add_model_config(path)
    return TINY_OPEN_CLIP


def save_tiny_open_clip(folder: Path, seed: int = 0) -> Path:
    """Random weights of the tiny architecture as a state-dict checkpoint file (what `pretrained=` loads)."""
    import open_clip

    register_tiny_open_clip(folder)
    torch.manual_seed(seed)
    model = open_clip.create_model(TINY_OPEN_CLIP)
    path = folder / f"tiny-open-clip-{seed}.pt"
    torch.save(model.state_dict(), path)
    return path


def clip_bpe(max_merges: int | None = None) -> tuple[dict[str, int], list[str]]:
    """CLIP's byte-level BPE (vocab, merges) from the vocabulary file that ships inside open-clip-torch."""
    import gzip

    import open_clip
    from open_clip.tokenizer import bytes_to_unicode, default_bpe

    with gzip.open(default_bpe()) as f:
        lines = f.read().decode("utf-8").split("\n")
    merges = lines[1 : 49152 - 256 - 2 + 1][:max_merges]
    chars = list(bytes_to_unicode().values())
    tokens = chars + [c + "</w>" for c in chars] + ["".join(m.split()) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    assert open_clip  # imported for default_bpe's package data
    return {t: i for i, t in enumerate(tokens)}, merges


def save_tiny_hf_clip(folder: Path, seed: int = 0) -> Path:
    """A tiny CLIPModel (random weights) and its CLIPProcessor (CLIP's BPE, 32 px crops), save_pretrained."""
    from transformers import (
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
        CLIPProcessor,
        CLIPTokenizer,
    )

    vocab, merges = clip_bpe(max_merges=2000)
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[tuple(m.split()) for m in merges])
    text = dict(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=77,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    vision = dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=32, patch_size=8
    )
    torch.manual_seed(seed)
    model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=24))
    processor = CLIPProcessor(
        image_processor=CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}),
        tokenizer=tokenizer,
    )
    out = folder / f"tiny-hf-clip-{seed}"
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


def save_tiny_clap(folder: Path, seed: int = 0) -> Path:
    """A tiny ClapModel (HTSAT audio tower, RoBERTa text tower; random weights) with a ClapProcessor whose
    feature extractor expects 8 kHz clips of at most 1 s, save_pretrained."""
    from open_clip.tokenizer import bytes_to_unicode
    from transformers import (
        ClapConfig,
        ClapFeatureExtractor,
        ClapModel,
        ClapProcessor,
        RobertaTokenizer,
    )

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    vocab = {t: i for i, t in enumerate(specials + list(bytes_to_unicode().values()))}
    tokenizer = RobertaTokenizer(vocab=vocab, merges=[])
    audio = dict(
        spec_size=64,
        num_mel_bins=16,
        window_size=4,
        patch_size=4,
        patch_stride=[4, 4],
        hidden_size=32,
        patch_embeds_hidden_size=16,
        depths=[1, 1],
        num_attention_heads=[1, 2],
        projection_dim=16,
        enable_fusion=False,
    )
    text = dict(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=34,
        projection_dim=16,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    torch.manual_seed(seed)
    model = ClapModel(ClapConfig(text_config=text, audio_config=audio, projection_dim=16))
    features = ClapFeatureExtractor(
        feature_size=16, sampling_rate=8000, hop_length=80, max_length_s=1, fft_window_size=512, truncation="rand_trunc"
    )
    out = folder / f"tiny-clap-{seed}"
    model.save_pretrained(out)
    ClapProcessor(feature_extractor=features, tokenizer=tokenizer).save_pretrained(out)
    return out
