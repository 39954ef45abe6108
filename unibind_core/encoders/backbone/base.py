"""What every real backbone shares: its identity, micro-batched inference that survives CUDA out-of-memory,
the hand-over of viewed images to the model's own preprocessing, the image-text embedding of every viewed
modality, and its text tower as a TextEncoder.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from unibind_core.core.errors import ConfigError
from unibind_core.core.modality import Modality
from unibind_core.core.progress import track
from unibind_core.core.torch_setup import resolve_device, resolve_dtype
from unibind_core.encoders.backbone.views import VIEW_MODALITIES, ViewConfig, view_loader_options, view_samples
from unibind_core.storage.io import content_hash, file_hash


@dataclass(frozen=True)
class BackboneChoice:
    """Which backbone embeds a modality: a BACKBONES name, its model and its weights (as configured)."""

    name: str
    model: str | None = None
    weights: str | None = None


@lru_cache(maxsize=64)
def _hash_file(path: str, size: int, mtime_ns: int) -> str:
    return file_hash(path)


def weights_fingerprint(ref: str | None) -> str:
    """What identifies weights without loading them: a local file's content hash (16 hex digits), a local
    folder's hash of its files' hashes, else the reference itself (a pretrained tag or hub id). Hashes are memoized
    per (path, size, mtime), so a multi-GB checkpoint is read once per process."""
    if not ref:
        return "none"
    path = Path(ref.removeprefix("local-dir:")).expanduser()
    if path.is_file():
        st = path.stat()
        return _hash_file(str(path), st.st_size, st.st_mtime_ns)[:16]
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        return content_hash(*(f"{p.relative_to(path)}={weights_fingerprint(str(p))}" for p in files))[:16]
    return ref


def backbone_id(name: str, model: str | None, weights: str | None) -> str:
    """`name:model:hash` where hash is weights_fingerprint of the weights (else the model, which may be a
    folder or hub id): part of every cache key built from this backbone's vectors."""
    return (
        f"{name}:{Path(model).name if model and Path(model).exists() else model}:"
        f"{weights_fingerprint(weights or model)}"
    )


class MicroBatcher:
    """Runs `fn` over micro-batches of `size` rows; on CUDA out-of-memory the size halves (and stays
    halved for the rest of the run) and the failed micro-batch is retried, down to one row."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ConfigError(f"micro-batch size must be at least 1, got {size}")
        self.size = size
        self.halvings = 0

    def __call__(self, fn: Callable[[Any], torch.Tensor], items: Sequence[Any] | torch.Tensor) -> torch.Tensor:
        """(N, ...) rows (a tensor or a list) -> fn over slices of at most `size` rows, concatenated."""
        out, start, n = [], 0, len(items)
        while start < n:
            stop = min(n, start + self.size)
            try:
                out.append(fn(items[start:stop]))
            except torch.OutOfMemoryError:  # torch.cuda.OutOfMemoryError; any other error propagates
                if self.size == 1:
                    raise
                self.size //= 2
                self.halvings += 1
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                continue
            start = stop
        return torch.cat(out) if out else torch.empty(0)


# Loader options of a backbone that resizes with its model's own preprocessing: images, thermal crops and
# video frames are decoded at their native size (data/modalities/image.py, video.py), never squashed first.
DECODED_AT_NATIVE_SIZE: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {Modality.IMAGE: {"size": None}, Modality.THERMAL: {"size": None}, Modality.VIDEO: {"size": None}}
)
# In the features key of open_clip and hf_clip (OwnTextTower.options_record): event and point views decode as
# before, so without it their features from the former squash-and-normalize step would be reused.
LIBRARY_PREPROCESS = "library-preprocess"


def to_pil(image: torch.Tensor) -> Image.Image:
    """(3, H, W) in [0, 1] -> 8-bit RGB PIL image, what every library's own preprocessing takes:
    round(255 x), exact for pixels decoded from 8-bit files; a 16-bit image or a rendered view is
    quantized to 8 bits here, as saving it as a PNG would."""
    pixels = (image.float().clamp(0, 1) * 255).round().to(torch.uint8)
    return Image.fromarray(np.ascontiguousarray(pixels.permute(1, 2, 0).numpy()), "RGB")


class ImageTextBackbone:
    """A CLIP-like model: every viewed modality through the image tower (views.py), texts through its own
    text tower. Subclasses set `model`, `dim`, `image_size`, `mean`, `std` and implement `model_inputs`
    (N PIL images -> (N, 3, S, S): the library's own preprocessing), `_image_features` ((N, 3, S, S) on
    device -> (N, D)) and `_text_features` (texts -> (N, D))."""

    modalities: frozenset[str] = frozenset(VIEW_MODALITIES)
    image_size: int
    mean: Sequence[float]
    std: Sequence[float]
    dim: int
    id: str

    def __init__(self, device: str, dtype: str, batch_size: int, views: ViewConfig) -> None:
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.views = views
        self.batcher = MicroBatcher(batch_size)

    @property
    def name(self) -> str:
        return self.id

    def model_inputs(self, images: list[Image.Image]) -> torch.Tensor:
        """N RGB images -> (N, 3, S, S) float32 exactly as the model's library prepares them."""
        raise NotImplementedError

    def preprocess(self, modality: str, batch: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        """(B, *loader shape), or B samples of different sizes -> (B, V, 3, S, S) model inputs (float32, CPU):
        the modality's view makes V images of each sample, the model's own preprocessing the rest."""
        viewed = view_samples(modality, batch if isinstance(batch, torch.Tensor) else list(batch), self.views)
        counts = {len(v) for v in viewed}
        if len(counts) > 1:
            raise ValueError(f"the {modality} view gave {sorted(counts)} images per sample in one batch")
        flat = self.model_inputs([to_pil(image) for v in viewed for image in v])
        return flat.view(len(viewed), -1, *flat.shape[1:])

    def _images_on_device(self, x: torch.Tensor) -> torch.Tensor:
        feats = self._image_features(x.to(self.device, self.dtype))
        return F.normalize(feats.float(), dim=-1).cpu()

    @torch.inference_mode()
    def embed(
        self, modality: str, batch: torch.Tensor | Sequence[torch.Tensor], meta: Mapping[str, Any] | None = None
    ) -> torch.Tensor:
        """(B, *loader shape), or B samples of different sizes -> (B, D) unit vectors: the mean of the V view
        embeddings, re-normalized."""
        if modality not in self.modalities:
            raise ConfigError(
                f"backbone {self.id} does not embed modality {modality!r}; it embeds "
                f"{', '.join(sorted(self.modalities))}"
            )
        x = self.preprocess(modality, batch)
        b, v = x.shape[:2]
        z = self.batcher(self._images_on_device, x.flatten(0, 1)).view(b, v, -1)
        return F.normalize(z.mean(1), dim=-1)

    @torch.inference_mode()
    def embed_text(self, texts: list[str]) -> torch.Tensor:
        """(B,) texts -> (B, D) unit vectors from the same model's text tower."""

        def run(chunk: list[str]) -> torch.Tensor:
            return F.normalize(self._text_features(list(chunk)).float(), dim=-1).cpu()

        return self.batcher(run, list(texts))

    def _image_features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _text_features(self, texts: list[str]) -> torch.Tensor:
        raise NotImplementedError


class OwnTextTower:
    """Registry interface (encoders/backbone/select.py) of a backbone that brings its own text tower: the text space
    is the backbone itself, so its id names the space, keys the caches, and its text tower embeds the texts.
    `decoded_options`: loader options per modality its own preprocessing needs (DECODED_AT_NATIVE_SIZE)."""

    decoded_options: ClassVar[Mapping[str, Mapping[str, Any]]] = MappingProxyType({})
    input_step: ClassVar[str | None] = None  # names the step from view to model input in the features key

    @classmethod
    def identify(cls, choice: BackboneChoice) -> str:
        raise NotImplementedError

    @classmethod
    def from_choice(cls, choice: BackboneChoice, s: Any) -> Any:
        return cls(choice.model, choice.weights, s.device, s.dtype, s.batch_size, s.views)

    @classmethod
    def backbone_id(cls, choice: BackboneChoice, s: Any) -> str:
        return cls.identify(choice)

    @classmethod
    def space_of(cls, choice: BackboneChoice, s: Any) -> str:
        return cls.identify(choice)

    @classmethod
    def options_record(cls, s: Any) -> str:
        """The options the vectors depend on besides the weights (part of the features key); with the input
        step that hands the views' images to the model, where one is named (`input_step`)."""
        record = dataclasses.asdict(s.views)
        return json.dumps({**record, "input_step": cls.input_step} if cls.input_step else record, sort_keys=True)

    @classmethod
    def loader_options(cls, s: Any, modality: str) -> dict[str, Any]:
        """Loader options its views and its preprocessing need beyond a benchmark's own (event timestamps,
        windows, native-size decoding; else {})."""
        return {**view_loader_options(modality, s.views), **cls.decoded_options.get(modality, {})}

    @classmethod
    def text_tower(cls, choice: BackboneChoice, s: Any, load: Callable[[], Any]) -> BackboneText:
        return BackboneText(load())


class HubModel(OwnTextTower):
    """A transformers model named by a hub id or a local save_pretrained folder (hf_clip, clap): its id is
    `family:hub id:revision`, or for a folder `backbone_id` over the folder's content hash."""

    family: ClassVar[str]

    @classmethod
    def identify(cls, choice: BackboneChoice) -> str:
        if not choice.model:
            raise ConfigError(f"backbone {cls.family} needs backbone_model: a hub id or a local save_pretrained folder")
        if Path(choice.model).expanduser().is_dir():
            return backbone_id(cls.family, choice.model, choice.model)
        return f"{cls.family}:{choice.model}:{choice.weights or 'main'}"


class BackboneText:
    """A backbone's text tower as a TextEncoder (unibind_core.encoders.text): its name is the backbone's id, so the
    text-embedding cache folder and every key built on these vectors change with the model and weights."""

    def __init__(self, backbone: Any, chunk: int = 4096) -> None:
        self.backbone = backbone
        self.name = backbone.id
        self.dim = backbone.dim
        self.chunk = chunk

    def encode(self, texts: list[str]) -> np.ndarray:
        """(N,) texts -> (N, dim) float32 unit vectors, sorted by length so padding per batch stays small."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        for start in track(range(0, len(texts), self.chunk), "embed texts", unit="chunk"):
            idx = order[start : start + self.chunk]
            out[idx] = self.backbone.embed_text([texts[i] for i in idx]).numpy()
        return out
