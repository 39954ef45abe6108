"""ImageBind embeddings in the `imagebind` environment (`make env-imagebind`): rows of one kind -> unit vectors.

Loading: `imagebind.models.imagebind_model.imagebind_huge` (option `model`, the default) with the checkpoint
`weights` (a local .pth; unset: the package downloads imagebind_huge.pth into `cache_dir`), or `model` a JSON
file of `ImageBindModel` keyword arguments (other sizes) with its `weights`. Inputs per `kind`, float32:

    text     texts.jsonl                  -> (N, 77) tokens of imagebind.models.multimodal_preprocessors.
                                             SimpleTokenizer with the package's BPE file
                                             (= data.load_and_transform_text)
    vision   (N, V, 3, H, W) in [0, 1]    -> (N, V, 3, 224, 224), CLIP mean/std; V views averaged by the model
    video    (N, F, 3, H, W) in [0, 1]    -> (N, S, 3, 2, 224, 224): S = `clips` two-frame clips
    thermal  (N, V, 3, H, W) in [0, 1]    -> (N, V, 1, 224, 224) intensity (the view did the normalization)
    depth    (N, V, 3, H, W) in [0, 1]    -> (N, V, 1, 224, 224) rendered closeness
    audio    (N, L) at `sample_rate`      -> (N, 3, 1, 128, 204), as data.load_and_transform_audio_data makes it:
                                             16 kHz, three 2 s clips, waveform2melspec, mean -4.268 / std 9.138

Why the package's __init__ is not run: `imagebind/__init__.py` imports `imagebind.data`, which imports
pytorchvideo 0.1.5 at module level, and pytorchvideo imports torchvision's `functional_tensor` (gone in
torchvision 0.17); keeping it importable meant torch 2.1 (several GB of CUDA wheels on top of ours). The
model (`imagebind.models`) needs none of it, and of `imagebind.data` we need only what takes no file decoding:
the tokenizer (imported from imagebind.models) and the audio recipe (`waveform2melspec` and the clip sampler,
followed below line for line; tests/core/encoders/external/test_imagebind_real.py checks them against the installed
package's own source). So the environment runs our torch 2.14 and the script registers the package without
executing its __init__ (`imagebind_package`).
"""

from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

if __package__:
    from .embed_common import frame_indices, loaded, model_key, package_without_init, serve, square_images
    from .pipes_io import Session, need
else:  # run by path
    from embed_common import frame_indices, loaded, model_key, package_without_init, serve, square_images
    from pipes_io import Session, need

# imagebind.data.load_and_transform_audio_data's defaults (clip_s an int there: the clip times are Fractions)
AUDIO = {"rate": 16000, "mel_bins": 128, "target_length": 204, "clip_s": 2, "clips": 3, "mean": -4.268, "std": 9.138}
BPE = ("bpe", "bpe_simple_vocab_16e6.txt.gz")  # inside the package (data.return_bpe_path)
FBANK_FRAME = 400  # samples of one 25 ms kaldi frame at 16 kHz: a shorter clip has no frame at all


def imagebind_package() -> Path:
    """The installed `imagebind` folder, its __init__ not run (it imports imagebind.data and so pytorchvideo)."""
    return package_without_init("imagebind")


def model_module() -> Any:
    """imagebind.models.imagebind_model (ImageBindModel, imagebind_huge, ModalityType)."""
    imagebind_package()
    return need("imagebind.models.imagebind_model")


def build_model(options: dict[str, Any]) -> Any:
    """The ImageBind model the options name, with its weights, in eval mode."""
    torch = need("torch")
    ib = model_module()
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


def clip_bounds(samples: int, rate: int) -> list[tuple[int, int]]:
    """Sample ranges of ImageBind's audio clips: pytorchvideo's ConstantClipsPerVideoSampler(2, 3) as
    data.get_clip_timepoints runs it, starts at k * max(duration - 2, 0) / 3 s (k = 0, 1, 2: the last clip
    does not reach the end), each [int(start * rate), int((start + 2) * rate)) (shorter at the end)."""
    top = Fraction(max(samples / rate - AUDIO["clip_s"], 0))
    step = Fraction(top, AUDIO["clips"])
    return [(int(step * k * rate), int((step * k + AUDIO["clip_s"]) * rate)) for k in range(AUDIO["clips"])]


def waveform2melspec(waveform: Any, sample_rate: int, num_mel_bins: int, target_length: int) -> Any:
    """imagebind.data.waveform2melspec line for line, less its warning on a large length gap (that module
    cannot be imported: it needs pytorchvideo): (1, n) -> (1, mel_bins, target_length) kaldi log-mel fbank,
    zero-padded or cut. Like it, it subtracts the mean in place: the caller's clip is a view of the whole
    waveform, as in load_and_transform_audio_data."""
    torch, kaldi = need("torch"), need("torchaudio.compliance.kaldi")
    waveform -= waveform.mean()
    fbank = kaldi.fbank(
        waveform,
        htk_compat=True,
        sample_frequency=sample_rate,
        use_energy=False,
        window_type="hanning",
        num_mel_bins=num_mel_bins,
        dither=0.0,
        frame_length=25,
        frame_shift=10,
    )
    fbank = fbank.transpose(0, 1)
    p = target_length - fbank.size(1)
    if p > 0:
        fbank = torch.nn.functional.pad(fbank, (0, p), mode="constant", value=0)
    elif p < 0:
        fbank = fbank[:, 0:target_length]
    return fbank.unsqueeze(0)


def audio_clips(wave: Any, source_rate: int) -> Any:
    """(L,) waveform -> (3, 1, 128, 204) normalized log-mel clips, as data.load_and_transform_audio_data makes
    them from a mono file: resampled to 16 kHz, clipped (clip_bounds), waveform2melspec on views of the one
    waveform in clip order (its in-place mean subtraction reaches the next, overlapping clip there too)."""
    torch = need("torch")
    wave = torch.tensor(wave, dtype=torch.float32)[None]  # a copy: the clips' mean subtraction is in place
    if source_rate != AUDIO["rate"]:
        wave = need("torchaudio.functional").resample(wave, orig_freq=source_rate, new_freq=AUDIO["rate"])
    if wave.shape[1] < FBANK_FRAME:  # ImageBind fails there (no fbank frame); one frame of padding instead
        wave = torch.nn.functional.pad(wave, (0, FBANK_FRAME - wave.shape[1]))
    mels = [
        waveform2melspec(wave[:, a:b], AUDIO["rate"], AUDIO["mel_bins"], AUDIO["target_length"])
        for a, b in clip_bounds(wave.shape[1], AUDIO["rate"])
    ]
    return (torch.stack(mels) - AUDIO["mean"]) / AUDIO["std"]


def text_tokens(texts: list[str], tokenizer: Any) -> Any:
    """(N, 77) token ids, as data.load_and_transform_text stacks them (one text per tokenizer call)."""
    torch = need("torch")
    return torch.stack([tokenizer(t) for t in texts])


def load(s: Session, kind: str, device: Any, dtype: Any) -> Any:
    """The encoder of `kind`: rows -> (n, D), through the model's own forward (it averages clips/views)."""
    torch = need("torch")
    mt = model_module().ModalityType
    key = model_key(s.options, device, dtype, "model", "weights", "cache_dir")
    model = loaded(key, lambda: build_model(s.options).to(device=device, dtype=dtype))  # once per process
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

    tokenizer = None
    if kind == "text":
        simple = need("imagebind.models.multimodal_preprocessors").SimpleTokenizer
        tokenizer = simple(bpe_path=str(imagebind_package().joinpath(*BPE)))

    encoders = {
        "text": lambda rows: forward(mt.TEXT, text_tokens(list(rows), tokenizer)),
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
