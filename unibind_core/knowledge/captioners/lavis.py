"""`CAPTIONERS["lavis"]`: salesforce-lavis BLIP-2 in its own environment (it pins transformers<4.27).

The driver renders each sample's view as for any model captioner; this model writes the views as PNG
files into a work folder under the data root and hands them to the shipped `lavis_caption` script
(unibind_core/encoders/external/lavis.py: a Pipes subprocess inside an asset, a plain subprocess elsewhere).
Set it up once with `make env-lavis` (docs/architecture.md, "External environments"). The model is a
LAVIS `model_type` of `blip2_opt` (default `pretrain_opt2.7b`, the paper's captioner) or
`blip2_t5:<type>` for the Flan-T5 variants.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from unibind_core.encoders.external.lavis import caption_with_lavis
from unibind_core.knowledge.captioners.base import CaptionRequest, ModelInfo
from unibind_core.knowledge.captioners.driver import CachedCaptioner
from unibind_core.knowledge.llm.cache import Reply

if TYPE_CHECKING:
    from unibind_core.core.settings import Settings

DEFAULT_MODEL = "pretrain_opt2.7b"


class LavisModel:
    name = "lavis"
    call_rows = 4096  # samples per script launch (the model loads once per launch); `batch_size` inside it

    def __init__(
        self, model: str, work: Path, device: str = "auto", batch_size: int = 16, max_new_tokens: int = 60, config=None
    ) -> None:
        self.model, self.work, self.batch_size, self.config = model, Path(work), batch_size, config
        name, _, model_type = model.rpartition(":")
        self.options = {
            "name": name or "blip2_opt",
            "model_type": model_type,
            "micro_batch": batch_size,
            "generate": {"max_length": max_new_tokens},
            **({} if device == "auto" else {"device": device}),
        }
        self.info = ModelInfo(max_images=1, extra={"max_new_tokens": max_new_tokens})

    def _image_file(self, request: CaptionRequest) -> Path:
        """The request's view as a PNG named by its content, so a resumed call finds its captions."""
        image = request.images[0].convert("RGB")
        name = hashlib.sha256(image.tobytes() + repr(image.size).encode()).hexdigest()[:24]
        path = self.work / "images" / f"{name}.png"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.png")
            image.save(tmp)
            tmp.replace(path)
        return path

    def generate(self, requests: Sequence[CaptionRequest]) -> Iterator[tuple[CaptionRequest, Reply]]:
        """One script launch per prompt (a benchmark has one, or two with paired RGB frames); retries are
        sampled by the script like every local model's (LAVIS's own `use_nucleus_sampling`)."""
        by_prompt: dict[tuple[str, int], list[CaptionRequest]] = {}
        for r in requests:
            by_prompt.setdefault((r.prompt, r.attempt), []).append(r)
        for (prompt, attempt), group in by_prompt.items():
            options = dict(self.options)
            if attempt:
                options["generate"] = {**options["generate"], "use_nucleus_sampling": True}
            paths = [self._image_file(r) for r in group]
            run = hashlib.sha256(f"{self.model}\0{prompt}\0{attempt}".encode()).hexdigest()[:16]
            captions = caption_with_lavis(paths, prompt, options, work=self.work / run, config=self.config)
            for r, text in zip(group, captions):
                yield r, Reply(text.strip())


class LavisCaptioner:
    """Registry entry: the driver over `LavisModel`, built from the settings."""

    @classmethod
    def from_settings(cls, s: Settings) -> CachedCaptioner:
        c = s.caption
        model = LavisModel(
            c.model or DEFAULT_MODEL,
            s.layout.root / "cache" / "lavis",
            s.device,
            c.batch_size,
            c.max_new_tokens,
            s.external,
        )
        return CachedCaptioner(model, s)
