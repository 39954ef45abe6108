"""What the embedding scripts share: device and dtype, image resizing, and the request loop.

Runs in the external environment (its own torch and numpy); torch and numpy are imported inside the
functions, so importing this module needs neither. Request options: `kind` (what the rows are: text,
vision/image, video, audio, thermal, depth), `device`, `dtype`, `micro_batch`, and the model's own.
Inputs: `batch` (.npy, float32 rows in the shapes below) or `texts` (.jsonl, {"text": ...} per line).
Output: `vectors` (.npy, (N, D) float32 unit vectors).

Run with `--worker` (pipes_io.serve_requests) the script answers many requests in one process; `loaded`
keeps each model it built, by the options that name it, so a benchmark's features cost one load per model.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__:
    from .pipes_io import Session, batched, need, read_jsonl, serve_requests
else:  # run by path: this folder is on sys.path
    from pipes_io import Session, batched, need, read_jsonl, serve_requests

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)

Encoder = Callable[[Any], Any]  # rows (an array slice or a list of texts) -> (n, D) torch tensor


def package_without_init(name: str) -> Path:
    """The installed package `name`'s folder, registered in sys.modules without running its __init__, so that
    its submodules import on their own: ImageBind's and LanguageBind's roots import modules that cannot run on
    our torch (pytorchvideo, decord, cv2; docs/architecture.md, External environments)."""
    if name not in sys.modules:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            need(name)  # not installed: exits MISSING_PACKAGE_EXIT with the import error
        sys.modules[name] = importlib.util.module_from_spec(spec)
    return Path(next(iter(sys.modules[name].__path__)))


def device_and_dtype(options: dict[str, Any]) -> tuple[Any, Any]:
    """`auto` device: CUDA when present; `auto` dtype: bf16 (else fp16) on CUDA, fp32 on the CPU."""
    torch = need("torch")
    device = options.get("device", "auto")
    device = torch.device(
        "cuda" if device == "auto" and torch.cuda.is_available() else "cpu" if device == "auto" else device
    )
    names = {
        "fp32": torch.float32,
        "float32": torch.float32,
        "fp16": torch.float16,
        "float16": torch.float16,
        "bf16": torch.bfloat16,
        "bfloat16": torch.bfloat16,
    }
    dtype = options.get("dtype", "auto")
    if dtype == "auto":
        dtype = "fp32" if device.type == "cpu" else ("bf16" if torch.cuda.is_bf16_supported() else "fp16")
    return device, names[dtype]


def square_images(
    x: Any, size: int, mean: Sequence[float] | None = OPENAI_MEAN, std: Sequence[float] | None = OPENAI_STD
) -> Any:
    """(N, C, H, W) in [0, 1] -> (N, C, size, size): bicubic resize of the shorter side, centre crop, and the
    channel mean/std (None: values kept in [0, 1]), as the models' own image transforms do."""
    torch = need("torch")
    f = torch.nn.functional
    h, w = x.shape[-2:]
    scale = size / min(h, w)
    if (h, w) != (size, size):
        x = f.interpolate(
            x,
            size=(max(size, round(h * scale)), max(size, round(w * scale))),
            mode="bicubic",
            align_corners=False,
            antialias=True,
        )
        top, left = (x.shape[-2] - size) // 2, (x.shape[-1] - size) // 2
        x = x[..., top : top + size, left : left + size]
    x = x.clamp(0, 1)
    if mean is None:
        return x
    m = torch.tensor(mean, dtype=x.dtype).view(1, -1, 1, 1)[:, : x.shape[1]]
    s = torch.tensor(std, dtype=x.dtype).view(1, -1, 1, 1)[:, : x.shape[1]]
    return (x - m) / s


def frame_indices(total: int, wanted: int) -> list[int]:
    """`wanted` indices spread evenly over `total` frames (repeats when fewer exist)."""
    if wanted == 1:
        return [total // 2]
    return [round(i * (total - 1) / (wanted - 1)) for i in range(wanted)]


MODELS: dict[str, Any] = {}  # this process's loaded models, by the key `loaded` was given
LOADS: list[str] = []  # the keys in load order: one entry per model build in this process


def loaded(key: str, build: Callable[[], Any]) -> Any:
    """The model named by `key` (a string of the options that determine it, device and dtype included),
    built on first use and kept for the process's later requests."""
    if key not in MODELS:
        MODELS[key] = build()
        LOADS.append(key)
    return MODELS[key]


def model_key(options: dict[str, Any], device: Any, dtype: Any, *names: str) -> str:
    """`loaded`'s key: the named options (what picks the model and its weights) with the device and dtype."""
    return json.dumps(
        {**{n: options.get(n) for n in names}, "device": str(device), "dtype": str(dtype)}, sort_keys=True, default=str
    )


def serve(load: Callable[[Session, str, Any, Any], Encoder], name: str) -> None:
    """Answer requests (one, or many with --worker): load the encoder of each request's kind (its model kept
    between requests), embed every row in micro-batches (halving on out-of-memory), write unit vectors,
    report rows, dim, timings and the model builds this process has done (`model_loads`)."""
    serve_requests(lambda s: embed(s, load, name))


def embed(s: Session, load: Callable[[Session, str, Any, Any], Encoder], name: str) -> None:
    """One request of `serve`."""
    torch, np = need("torch"), need("numpy")
    kind, micro = s.options["kind"], int(s.options.get("micro_batch", 32))
    device, dtype = device_and_dtype(s.options)
    start = time.monotonic()
    encode = load(s, kind, device, dtype)
    ready = time.monotonic()
    s.log(f"{name}: {kind} encoder ready on {device} ({dtype}) in {ready - start:.1f}s")
    if kind == "text":
        rows: Any = [r["text"] for r in read_jsonl(s.input("texts"))]
    else:
        rows = np.load(s.input("batch"))

    def run(a: int, b: int) -> Any:
        with torch.inference_mode():
            z = encode(rows[a:b]).float()
        return torch.nn.functional.normalize(z, dim=-1).cpu().numpy()

    parts = batched(run, len(rows), micro, lambda done: s.progress(done, len(rows)))
    vectors = np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, 0), np.float32)
    out = s.output("vectors")
    with open(out.with_suffix(".tmp"), "wb") as fh:
        np.save(fh, vectors)
    out.with_suffix(".tmp").replace(out)
    took = time.monotonic() - ready
    s.report(
        model=name,
        kind=kind,
        rows=len(rows),
        dim=int(vectors.shape[1]) if len(rows) else 0,
        device=str(device),
        load_s=round(ready - start, 3),
        embed_s=round(took, 3),
        rows_per_s=round(len(rows) / took, 2) if took > 0 else None,
        model_loads=len(LOADS),
        pid=os.getpid(),
    )
    s.log(f"{name}: embedded {len(rows)} {kind} rows in {took:.1f}s")
