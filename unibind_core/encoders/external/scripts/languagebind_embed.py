"""LanguageBind embeddings in the `languagebind` environment (`make env-languagebind`): rows -> unit vectors.

Loading: the `languagebind` package's class per modality (`LanguageBindImage`, `LanguageBindVideo`,
`LanguageBindAudio`, `LanguageBindThermal`, `LanguageBindDepth`, from `languagebind.<modality>.modeling_<modality>`)
through `from_pretrained` of `<model>/<modality>` when option `model` is a local folder holding one subfolder per
modality, else the hub id `<model>/<CHECKPOINTS[modality]>` (model default: `LanguageBind`); `cache_dir` for
downloads. Texts go through the image model's tokenizer and text tower (every LanguageBind modality is aligned
to that one language encoder). Inputs per `kind`, float32, with the package's own preprocessing:

    text     texts.jsonl                 -> LanguageBindImageTokenizer, 77 tokens
    image    (N, V, 3, H, W) in [0, 1]   -> processing_image's get_image_transform after its ToTensor (Resize 224
                                            bicubic on the tensor, CenterCrop 224, CLIP mean/std); the V views'
                                            unit vectors averaged
    thermal  (N, V, 3, H, W) in [0, 1]   -> processing_thermal's get_thermal_transform, likewise
    depth    (N, V, 3, H, W) in [0, 1]   -> the image transform: our renders are closeness in [0, 1], what the
                                            package's DepthNorm makes of a raw depth file, and the rest of its
                                            get_depth_transform is the image transform's list
    video    (N, F, 3, H, W) in [0, 1]   -> (N, 3, T, 224, 224), T = the model's num_frames at
                                            np.linspace(0, F - 1, T, dtype=int) (load_and_transform_video), then
                                            get_video_transform as written: CLIP mean/std, pytorchvideo's
                                            ShortSideScale(224) (bilinear), centre crop (followed below)
    audio    (N, L) at `sample_rate`     -> (N, 3, mel_bins, target_length): AudioTransform's resample and kaldi
                                            fbank (followed below); the three chunks front/middle/back at the
                                            first offset of each third (ours, fixed: the package picks them at
                                            random, and leaves this fixed variant commented out)

Why the package's root is not imported: `languagebind/__init__.py` imports every modality's processing module,
and `video/processing_video.py` imports pytorchvideo (0.1.5, its only release, imports torchvision's
`functional_tensor`, gone in torchvision 0.17: our torch 2.14 pairs with 0.29) and decord; `audio` and `depth`'s
processing modules import cv2 (unused by what we take). The modality packages' own `__init__` files are empty, so
the script registers `languagebind` without executing its __init__ (`languagebind_package`) and imports the
modeling, tokenization and image/thermal processing modules directly: the environment needs torch, torchvision
and pillow (processing_image/thermal), torchaudio (fbank), transformers<5, einops and peft, not opencv, decord or
pytorchvideo. What is followed instead of imported (video's ShortSideScale and crop, AudioTransform's fbank)
is checked against the installed package's source by tests/core/encoders/external/test_languagebind_real.py.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

if __package__:
    from .embed_common import OPENAI_MEAN, OPENAI_STD, loaded, model_key, package_without_init, serve
    from .pipes_io import Session, need
else:  # run by path
    from embed_common import OPENAI_MEAN, OPENAI_STD, loaded, model_key, package_without_init, serve
    from pipes_io import Session, need

CLASSES = {
    "image": "LanguageBindImage",
    "video": "LanguageBindVideo",
    "audio": "LanguageBindAudio",
    "thermal": "LanguageBindThermal",
    "depth": "LanguageBindDepth",
}
CHECKPOINTS = {
    "image": "LanguageBind_Image",
    "video": "LanguageBind_Video_FT",
    "audio": "LanguageBind_Audio_FT",
    "thermal": "LanguageBind_Thermal",
    "depth": "LanguageBind_Depth",
}
TRANSFORMS = {
    "image": ("image", "get_image_transform"),
    "thermal": ("thermal", "get_thermal_transform"),
    "depth": ("image", "get_image_transform"),
}  # processing_depth imports cv2: see the docstring
FRAME_SHIFT_MS = 10  # processing_audio.DEFAULT_AUDIO_FRAME_SHIFT_MS
CROP = 224  # the package's transforms resize and crop to 224 whatever the config's image_size


def languagebind_package() -> None:
    """Register `languagebind` without running its __init__ (pytorchvideo, decord, cv2: see the module docstring)."""
    package_without_init("languagebind")


def module(name: str) -> Any:
    """languagebind.<name>, imported without the package's __init__."""
    languagebind_package()
    return need(f"languagebind.{name}")


def source(options: dict[str, Any], modality: str) -> str:
    """A local `<model>/<modality>` folder, else the hub id `<model>/<checkpoint>`."""
    root = options.get("model") or "LanguageBind"
    local = Path(root).expanduser() / modality
    return str(local) if local.is_dir() else f"{root}/{CHECKPOINTS[modality]}"


def build(options: dict[str, Any], modality: str) -> Any:
    """The LanguageBind model of `modality`, in eval mode."""
    cls = getattr(module(f"{modality}.modeling_{modality}"), CLASSES[modality])
    cache = {"cache_dir": options["cache_dir"]} if options.get("cache_dir") else {}
    return cls.from_pretrained(source(options, modality), **cache).eval()


def image_transform(model: Any, modality: str) -> Any:
    """The package's image (thermal) transform without its leading ToTensor: our rows are already float
    tensors in [0, 1], what ToTensor makes of an 8-bit image."""
    sub, name = TRANSFORMS[modality]
    compose = getattr(module(f"{sub}.processing_{sub}"), name)(model.config)
    first, rest = compose.transforms[0], compose.transforms[1:]
    if type(first).__name__ != "ToTensor":
        raise SystemExit(
            f"languagebind_embed: {sub}.processing_{sub}.{name} no longer starts with ToTensor "
            f"({compose}); the script's image path needs a look"
        )
    return type(compose)(rest)


def video_clips(x: Any, frames: int) -> Any:
    """(n, F, 3, H, W) in [0, 1] -> (n, 3, T, 224, 224), as processing_video's decord path makes it: frames at
    np.linspace(0, F - 1, T, dtype=int), then get_video_transform's list after its /255 (NormalizeVideo with CLIP
    mean/std, pytorchvideo 0.1.5's ShortSideScale(224): bilinear to a floor-rounded long side, torchvision's
    CenterCropVideo(224): offsets rounded); its RandomHorizontalFlipVideo(p=0.5), an augmentation, is left out."""
    torch, np = need("torch"), need("numpy")
    index = np.linspace(0, x.shape[1] - 1, frames, dtype=int).tolist()
    clip = x[:, index].permute(0, 2, 1, 3, 4)  # (n, C, T, H, W)
    mean = torch.tensor(OPENAI_MEAN, dtype=clip.dtype).view(1, 3, 1, 1, 1)
    std = torch.tensor(OPENAI_STD, dtype=clip.dtype).view(1, 3, 1, 1, 1)
    clip = (clip - mean) / std
    n, c, t, h, w = clip.shape
    new_h, new_w = (math.floor(h / w * CROP), CROP) if w < h else (CROP, math.floor(w / h * CROP))
    clip = torch.nn.functional.interpolate(
        clip.reshape(n * c, t, h, w), size=(new_h, new_w), mode="bilinear", align_corners=False
    ).view(n, c, t, new_h, new_w)
    top, left = round((new_h - CROP) / 2.0), round((new_w - CROP) / 2.0)  # int(round(...)) there
    return clip[..., top : top + CROP, left : left + CROP]


def audio_features(config: Any, wave: Any, rate: int) -> Any:
    """(L,) waveform -> (3, mel_bins, target_length): processing_audio.AudioTransform (resample to the model's
    rate, mean removed, kaldi fbank, then waveform2melspec) with the chunk offsets fixed. AudioTransform's
    module imports cv2, hence followed here (checked against its source by the real-package test)."""
    torch, np, torchaudio = need("torch"), need("numpy"), need("torchaudio")
    cfg = config.vision_config
    wave = torch.as_tensor(wave, dtype=torch.float32)[None]
    if rate != cfg.audio_sample_rate:
        wave = torchaudio.functional.resample(wave, orig_freq=rate, new_freq=cfg.audio_sample_rate)
    wave = wave - wave.mean()
    mel = torchaudio.compliance.kaldi.fbank(
        wave,
        htk_compat=True,
        sample_frequency=cfg.audio_sample_rate,
        use_energy=False,
        window_type="hanning",
        num_mel_bins=cfg.num_mel_bins,
        dither=0.0,
        frame_length=25,
        frame_shift=FRAME_SHIFT_MS,
    )  # (T, mel_bins)
    size = int(cfg.target_length)
    if mel.shape[0] > size:
        ranges = np.array_split(np.arange(mel.shape[0] - size + 1), 3)
        starts = [int(r[0]) if len(r) else 0 for r in ranges]
        chunks = torch.stack([mel[s : s + size] for s in starts])
    else:
        mel = mel.repeat(size // mel.shape[0] + 1, 1)[:size]
        chunks = torch.stack([mel, mel, mel])
    return (chunks.transpose(1, 2) - cfg.audio_mean) / (cfg.audio_std * 2)


def load(s: Session, kind: str, device: Any, dtype: Any) -> Any:
    torch = need("torch")
    modality = "image" if kind == "text" else kind
    if modality not in CLASSES:
        raise SystemExit(f"languagebind_embed: unknown kind {kind!r}; known: text, {', '.join(CLASSES)}")
    key = model_key({**s.options, "modality": modality}, device, dtype, "model", "cache_dir", "modality")
    model = loaded(key, lambda: build(s.options, modality).to(device=device, dtype=dtype))  # once per process
    rate = int(s.options.get("sample_rate", 16000))

    def media(pixels: Any) -> Any:
        return model.get_image_features(pixel_values=pixels.to(device=device, dtype=dtype))

    transform = image_transform(model, kind) if kind in TRANSFORMS else None

    def views(rows: Any) -> Any:
        """Each view's unit vector, averaged over the V views (each view weighs the same)."""
        x = torch.as_tensor(rows)  # (n, V, 3, H, W)
        n, v = x.shape[:2]
        z = torch.nn.functional.normalize(media(transform(x.flatten(0, 1))).float(), dim=-1)
        return z.view(n, v, -1).mean(1)

    def video(rows: Any) -> Any:
        return media(video_clips(torch.as_tensor(rows), int(model.config.vision_config.num_frames)))

    cache = {"cache_dir": s.options["cache_dir"]} if s.options.get("cache_dir") else {}
    tokenizer = (
        module("image.tokenization_image").LanguageBindImageTokenizer.from_pretrained(
            source(s.options, "image"), **cache
        )
        if kind == "text"
        else None
    )

    def text(rows: Any) -> Any:
        tokens = tokenizer(list(rows), max_length=77, padding="max_length", truncation=True, return_tensors="pt")
        return model.get_text_features(
            input_ids=tokens["input_ids"].to(device), attention_mask=tokens["attention_mask"].to(device)
        )

    def audio(rows: Any) -> Any:
        return media(torch.stack([audio_features(model.config, w, rate) for w in rows]))

    encoders = {"text": text, "image": views, "thermal": views, "depth": views, "video": video, "audio": audio}
    return encoders[kind]


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    serve(load, "languagebind")
