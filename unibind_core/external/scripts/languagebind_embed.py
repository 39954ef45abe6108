"""LanguageBind embeddings in the `languagebind` environment (`make env-languagebind`): rows -> unit vectors.

Loading: the `languagebind` package's class per modality (`LanguageBindImage`, `LanguageBindVideo`,
`LanguageBindAudio`, `LanguageBindThermal`, `LanguageBindDepth`) through `from_pretrained` of
`<model>/<modality>` when option `model` is a local folder holding one subfolder per modality, else the hub
id `<model>/<CHECKPOINTS[modality]>` (model default: `LanguageBind`); `cache_dir` for downloads. Texts go
through the image model's tokenizer and text tower (every LanguageBind modality is aligned to that one
language encoder). Inputs per `kind`, float32:

    text     texts.jsonl                 -> LanguageBindImageTokenizer, 77 tokens
    image    (N, V, 3, H, W) in [0, 1]   -> (N*V, 3, 224, 224) CLIP mean/std; V views averaged
    thermal  (N, V, 3, H, W) in [0, 1]   -> as image (LanguageBind's thermal transform is the image one)
    depth    (N, V, 3, H, W) in [0, 1]   -> as image (its depth transform ends in the same normalization)
    video    (N, F, 3, H, W) in [0, 1]   -> (N, 3, T, 224, 224), T = the model's num_frames, evenly sampled
    audio    (N, L) at `sample_rate`     -> (N, 3, mel_bins, target_length): the package's AudioTransform
                                            fbank; the three chunks front/middle/back at fixed offsets (ours:
                                            the package picks them at random)
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

if __package__:
    from .embed_common import frame_indices, serve, square_images
    from .pipes_io import Session, need
else:  # run by path
    from embed_common import frame_indices, serve, square_images
    from pipes_io import Session, need

CLASSES = {"image": "LanguageBindImage", "video": "LanguageBindVideo", "audio": "LanguageBindAudio",
           "thermal": "LanguageBindThermal", "depth": "LanguageBindDepth"}
CHECKPOINTS = {"image": "LanguageBind_Image", "video": "LanguageBind_Video_FT", "audio": "LanguageBind_Audio_FT",
               "thermal": "LanguageBind_Thermal", "depth": "LanguageBind_Depth"}


def source(options: dict[str, Any], modality: str) -> str:
    """A local `<model>/<modality>` folder, else the hub id `<model>/<checkpoint>`."""
    root = options.get("model") or "LanguageBind"
    local = Path(root).expanduser() / modality
    return str(local) if local.is_dir() else f"{root}/{CHECKPOINTS[modality]}"


def build(options: dict[str, Any], modality: str) -> Any:
    """The LanguageBind model of `modality`, in eval mode."""
    lb = need("languagebind")
    cache = {"cache_dir": options["cache_dir"]} if options.get("cache_dir") else {}
    return getattr(lb, CLASSES[modality]).from_pretrained(source(options, modality), **cache).eval()


def audio_features(model: Any, wave: Any, rate: int) -> Any:
    """(L,) waveform -> (3, mel_bins, target_length), LanguageBind's fbank with fixed chunk offsets."""
    torch, np = need("torch"), need("numpy")
    transform = need("languagebind.audio.processing_audio").AudioTransform(model.config.vision_config)
    wave = torch.as_tensor(wave, dtype=torch.float32)[None]
    if rate != transform.sample_rate:
        wave = need("torchaudio.functional").resample(wave, rate, transform.sample_rate)
    mel = transform.get_mel(wave.clone())  # (T, mel_bins)
    size = transform.target_length
    if mel.shape[0] > size:
        ranges = np.array_split(np.arange(mel.shape[0] - size + 1), 3)
        starts = [int(r[0]) if len(r) else 0 for r in ranges]
        chunks = torch.stack([mel[s:s + size] for s in starts])
    else:
        mel = mel.repeat(size // mel.shape[0] + 1, 1)[:size]
        chunks = torch.stack([mel, mel, mel])
    return (chunks.transpose(1, 2) - transform.audio_mean) / (transform.audio_std * 2)


def load(s: Session, kind: str, device: Any, dtype: Any) -> Any:
    torch = need("torch")
    modality = "image" if kind == "text" else kind
    if modality not in CLASSES:
        raise SystemExit(f"languagebind_embed: unknown kind {kind!r}; known: text, {', '.join(CLASSES)}")
    model = build(s.options, modality).to(device=device, dtype=dtype)
    rate = int(s.options.get("sample_rate", 16000))

    def media(pixels: Any) -> Any:
        return model.get_image_features(pixel_values=pixels.to(device=device, dtype=dtype))

    def views(rows: Any) -> Any:
        x = torch.as_tensor(rows)  # (n, V, 3, H, W)
        n, v = x.shape[:2]
        return media(square_images(x.flatten(0, 1), 224)).view(n, v, -1).float().mean(1)

    def video(rows: Any) -> Any:
        x = torch.as_tensor(rows)  # (n, F, 3, H, W)
        n, f = x.shape[:2]
        t = int(model.config.vision_config.num_frames)
        frames = square_images(x[:, frame_indices(f, t)].flatten(0, 1), 224).view(n, t, 3, 224, 224)
        return media(frames.permute(0, 2, 1, 3, 4))

    cache = {"cache_dir": s.options["cache_dir"]} if s.options.get("cache_dir") else {}
    tokenizer = (need("languagebind").LanguageBindImageTokenizer.from_pretrained(source(s.options, "image"), **cache)
                 if kind == "text" else None)

    def text(rows: Any) -> Any:
        tokens = tokenizer(list(rows), max_length=77, padding="max_length", truncation=True, return_tensors="pt")
        return model.get_text_features(input_ids=tokens["input_ids"].to(device),
                                       attention_mask=tokens["attention_mask"].to(device))

    encoders = {"text": text, "image": views, "thermal": views, "depth": views, "video": video,
                "audio": lambda rows: media(torch.stack([audio_features(model, w, rate) for w in rows]))}
    return encoders[kind]


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    serve(load, "languagebind")
