"""Backbones whose model runs in its own virtual environment (ImageBind, LanguageBind) through a Runner.

Each `embed` call writes the batch as .npy (after our view of the modality, where the model has no native
input for it: events as an event image, point clouds as rendered depth views), launches the family's script
(unibind_core/encoders/external/scripts/), which does the model's own preprocessing and micro-batching, and reads the
(B, D) vectors back, re-normalized and checked. The script runs as a long-lived worker (encoders/external/worker.py),
one per environment and model options, so the model loads once per step however many batches and modalities
it is sent; the features stage calls `embed` with `call_rows` rows at a time and the text tower sends
`TEXT_CALL_ROWS` texts per request.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from unibind_core.core.errors import ConfigError
from unibind_core.encoders.backbone.base import BackboneChoice, BackboneText, OwnTextTower
from unibind_core.encoders.backbone.views import VIEW_MODALITIES, ViewConfig, apply_view
from unibind_core.encoders.external.envs import ExternalConfig
from unibind_core.encoders.external.runner import ExternalJob, current_runner

TEXT_CALL_ROWS = 65536  # texts per request (one .jsonl file in the request's work folder)
LOADER_DEFAULT_RATE = 16000  # unibind_core.data.modalities.audio.load's default sample_rate


class ExternalBackbone(OwnTextTower):
    """Subclasses set `family` (the BACKBONES name), `env`, `script`, `kinds` (our modality -> the script's
    input kind), `default_model` and `known_dims` (dim of a named model without launching it)."""

    family: ClassVar[str]
    env: ClassVar[str]
    script: ClassVar[str]
    kinds: ClassVar[Mapping[str, str]]
    default_model: ClassVar[str]
    known_dims: ClassVar[Mapping[str, int]] = {}
    call_rows = 4096  # rows per `embed` call the features stage should send (one request each)

    def __init__(
        self,
        model: str | None,
        weights: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 256,
        views: ViewConfig | None = None,
        *,
        external: ExternalConfig | None = None,
        work_root: Path | None = None,
    ) -> None:
        self.model, self.weights = model or self.default_model, weights
        self.device, self.dtype, self.micro_batch = device, dtype, batch_size
        self.views = views or ViewConfig()
        self.external = external or ExternalConfig()
        self.work_root = Path(work_root) if work_root is not None else Path(".unibind-external")
        self.id = self.identify(BackboneChoice(self.family, model, weights))
        self.modalities = frozenset(self.kinds)
        self._dim: int | None = self.known_dims.get(self.model)

    @classmethod
    def from_choice(cls, choice: BackboneChoice, s: Any) -> ExternalBackbone:
        return cls(
            choice.model,
            choice.weights,
            s.device,
            s.dtype,
            s.batch_size,
            s.views,
            external=s.external,
            work_root=s.layout.external_work,
        )

    @classmethod
    def options_record(cls, s: Any) -> str:
        """Our views shape what the script sees, so they are part of the features key."""
        return json.dumps({"views": json.loads(super().options_record(s)), "script": cls.script}, sort_keys=True)

    @classmethod
    def text_tower(cls, choice: BackboneChoice, s: Any, load: Any) -> BackboneText:
        return BackboneText(load(), chunk=TEXT_CALL_ROWS)

    @property
    def name(self) -> str:
        return self.id

    @property
    def dim(self) -> int:
        """Known for the named models; else learnt from one text embedded (one request)."""
        if self._dim is None:
            self._dim = int(self.embed_text(["a"]).shape[1])
        return self._dim

    def model_options(self) -> dict[str, Any]:
        """What the script needs to load the model (subclasses add their own)."""
        return {"model": self.model, "weights": self.weights}

    def _launch(self, kind: str, write: Any, extra: Mapping[str, Any] | None = None) -> torch.Tensor:
        """Write the inputs with `write(folder) -> {input name: file}`, run the script, read (N, D) unit vectors."""
        work = self.work_root / self.env / uuid.uuid4().hex
        work.mkdir(parents=True, exist_ok=True)
        inputs = write(work)
        options = {
            **self.model_options(),
            "kind": kind,
            "device": self.device,
            "dtype": self.dtype,
            "micro_batch": self.micro_batch,
            **(extra or {}),
        }
        key = json.dumps({**self.model_options(), "device": self.device, "dtype": self.dtype}, sort_keys=True)
        job = ExternalJob(
            self.env,
            self.script,
            work,
            self.external.python(self.env),
            options,
            inputs,
            {"vectors": "vectors.npy"},
            worker_key=key,
        )
        result = current_runner().run(job)
        vectors = np.load(result.path("vectors.npy"))
        shutil.rmtree(work, ignore_errors=True)  # kept only when the script failed (the error names it)
        if not np.isfinite(vectors).all():
            raise RuntimeError(f"backbone {self.id}: the {self.script} script returned non-finite vectors for {kind}")
        out = F.normalize(torch.from_numpy(vectors).float(), dim=-1)
        self._dim = int(out.shape[1]) if out.ndim == 2 and len(out) else self._dim
        return out

    @torch.inference_mode()
    def embed(self, modality: str, batch: torch.Tensor, meta: Mapping[str, Any] | None = None) -> torch.Tensor:
        """(B, *loader shape) -> (B, D) unit vectors; viewed modalities are sent as (B, V, 3, H, W) in [0, 1],
        audio as the (B, L) waveform with its `sample_rate`."""
        if modality not in self.kinds:
            raise ConfigError(
                f"backbone {self.id} does not embed modality {modality!r}; it embeds {', '.join(sorted(self.kinds))}"
            )
        x = apply_view(modality, batch, self.views) if modality in VIEW_MODALITIES else batch
        rate = int((meta or {}).get("sample_rate", LOADER_DEFAULT_RATE))

        def write(work: Path) -> dict[str, str]:
            np.save(work / "batch.npy", np.ascontiguousarray(x.float().numpy()))
            return {"batch": "batch.npy"}

        out = self._launch(self.kinds[modality], write, {"sample_rate": rate})
        if out.shape[0] != len(batch):
            raise RuntimeError(f"backbone {self.id}: {len(batch)} {modality} rows in, {out.shape[0]} vectors out")
        return out

    @torch.inference_mode()
    def embed_text(self, texts: list[str]) -> torch.Tensor:
        """(B,) texts -> (B, D) unit vectors from the model's own text tower (one request)."""
        if not texts:
            return torch.empty((0, self._dim or 0))

        def write(work: Path) -> dict[str, str]:
            (work / "texts.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
            return {"texts": "texts.jsonl"}

        out = self._launch("text", write)
        if out.shape[0] != len(texts):
            raise RuntimeError(f"backbone {self.id}: {len(texts)} texts in, {out.shape[0]} vectors out")
        return out
