"""ImageBind embeddings in the `imagebind` environment (`make env-imagebind`): rows of one kind -> unit vectors.

Loading: `imagebind.models.imagebind_model.imagebind_huge` (option `model`, the default) with the checkpoint
`weights` (a local .pth; unset: the package downloads imagebind_huge.pth into `cache_dir`), or `model` a JSON
file of `ImageBindModel` keyword arguments (other sizes) with its `weights`. Inputs per `kind`, float32:

    text     texts.jsonl                  -> imagebind.data.load_and_transform_text (its BPE tokenizer)
    vision   (N, V, 3, H, W) in [0, 1]    -> (N, V, 3, 224, 224), CLIP mean/std; V views averaged by the model
    video    (N, F, 3, H, W) in [0, 1]    -> (N, S, 3, 2, 224, 224): S = `clips` two-frame clips
    thermal  (N, V, 3, H, W) in [0, 1]    -> (N, V, 1, 224, 224) intensity (the view did the normalization)
    depth    (N, V, 3, H, W) in [0, 1]    -> (N, V, 1, 224, 224) rendered closeness
    audio    (N, L) at `sample_rate`      -> (N, 3, 1, 128, 204): 16 kHz, three 2 s clips evenly spaced,
                                             imagebind.data.waveform2melspec, mean -4.268 / std 9.138
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

if __package__:
    from .embed_common import frame_indices, serve, square_images
    from .pipes_io import Session, need
else:  # run by path
    from embed_common import frame_indices, serve, square_images
    from pipes_io import Session, need

AUDIO = {"rate": 16000, "mel_bins": 128, "target_length": 204, "clip_s": 2.0, "clips": 3,
         "mean": -4.268, "std": 9.138}


def build_model(options: dict[str, Any]) -> Any:
    """The ImageBind model the options name, with its weights, in eval mode."""
    torch = need("torch")
    ib = need("imagebind.models.imagebind_model")
    model_name, weights = options.get("model") or "imagebind_huge", options.get("weights")
    if model_name.endswith(".json"):
        model = ib.ImageBindModel(**json.loads(Path(model_name).read_text()))
    elif weights:
        model = getattr(ib, model_name)(pretrained=False)
    else:  # the package downloads its checkpoint into ./.checkpoints: keep that in the cache folder
        cache = Path(options.get("cache_dir") or Path.home() / ".cache" / "unibind" / "imagebind").expanduser()
        cache.mkdir(parents=True, exist_ok=True)
        here = os.getcwd()
        os.chdir(cache)  # contextlib.chdir needs Python 3.11; the environment may be older
        try:
            model = getattr(ib, model_name)(pretrained=True)
        finally:
            os.chdir(here)
    if weights:
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return model.eval()


def audio_clips(wave: Any, source_rate: int) -> Any:
    """(L,) waveform -> (3, 1, 128, 204) log-mel clips, as ImageBind's audio loader makes them."""
    torch, data = need("torch"), need("imagebind.data")
    wave = torch.as_tensor(wave, dtype=torch.float32)
    if source_rate != AUDIO["rate"]:
        wave = need("torchaudio.functional").resample(wave, source_rate, AUDIO["rate"])
    clip = int(AUDIO["clip_s"] * AUDIO["rate"])
    if len(wave) < clip:
        wave = torch.nn.functional.pad(wave, (0, clip - len(wave)))
    starts = [round(i * (len(wave) - clip) / max(1, AUDIO["clips"] - 1)) for i in range(AUDIO["clips"])]
    mels = [data.waveform2melspec(wave[s:s + clip].clone()[None], AUDIO["rate"], AUDIO["mel_bins"],
                                  AUDIO["target_length"]) for s in starts]
    return (torch.stack(mels) - AUDIO["mean"]) / AUDIO["std"]


def load(s: Session, kind: str, device: Any, dtype: Any) -> Any:
    """The encoder of `kind`: rows -> (n, D), through the model's own forward (it averages clips/views)."""
    torch = need("torch")
    mt = need("imagebind.models.imagebind_model").ModalityType
    data = need("imagebind.data")
    model = build_model(s.options).to(device=device, dtype=dtype)
    clips, rate = int(s.options.get("clips", 4)), int(s.options.get("sample_rate", 16000))

    def forward(key: str, x: Any) -> Any:
        return model({key: x.to(device=device, dtype=dtype if x.is_floating_point() else x.dtype)})[key]

    def images(rows: Any, channels: int) -> Any:
        x = torch.as_tensor(rows)  # (n, V, 3, H, W)
        n, v = x.shape[:2]
        flat = x.flatten(0, 1)
        if channels == 1:
            flat = square_images(flat.mean(1, keepdim=True), 224, None, None)
        else:
            flat = square_images(flat, 224)
        return flat.view(n, v, *flat.shape[1:])

    def video(rows: Any) -> Any:
        x = torch.as_tensor(rows)  # (n, F, 3, H, W)
        n, f = x.shape[:2]
        idx = frame_indices(f, 2 * clips)
        frames = square_images(x[:, idx].flatten(0, 1), 224).view(n, clips, 2, 3, 224, 224)
        return frames.permute(0, 1, 3, 2, 4, 5)  # (n, S, 3, 2, 224, 224)

    encoders = {
        "text": lambda rows: forward(mt.TEXT, data.load_and_transform_text(list(rows), "cpu")),
        "vision": lambda rows: forward(mt.VISION, images(rows, 3)),
        "video": lambda rows: forward(mt.VISION, video(rows)),
        "thermal": lambda rows: forward(mt.THERMAL, images(rows, 1)),
        "depth": lambda rows: forward(mt.DEPTH, images(rows, 1)),
        "audio": lambda rows: forward(mt.AUDIO, torch.stack([audio_clips(w, rate) for w in rows])),
    }
    if kind not in encoders:
        raise SystemExit(f"imagebind_embed: unknown kind {kind!r}; known: {', '.join(encoders)}")
    return encoders[kind]


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    serve(load, "imagebind")
