"""What every alignment strategy shares: its training data, the Protocol it implements, the losses.

An aligner is a small frozen record of its options. `build(dim)` makes its trainable map of the frozen
(N, D) features (identity at step 0, so step 0 is zero-shot); `objective(data, device)` precomputes
what its loss needs and returns the loss of a batch of item indices. The training loop (aligners/loop.py `fit`),
saving, loading and projecting features for evaluation (aligners.store) are the same for all of them, so
evaluation never assumes one head type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Protocol

import numpy as np
import torch
from torch import nn

# loss of one batch: (trainable module, (B,) item indices on the module's device) -> scalar loss
LossFn = Callable[[nn.Module, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class AlignData:
    """One benchmark's training inputs, all float32 unit vectors of one D-dimensional space."""

    train_x: np.ndarray  # (N, D) frozen training features
    train_y: np.ndarray  # (N,) class indices
    captions: np.ndarray  # (T, D) caption embeddings
    caption_index: np.ndarray  # (N,) row in `captions` of each sample's own caption
    centres: np.ndarray  # (M, D) embedding centres
    centre_class: np.ndarray  # (M,) class of each centre
    eval_x: np.ndarray  # (E, D) features of the eval split (checkpoint choice)
    eval_y: np.ndarray  # (E,)
    texts: np.ndarray | None = None  # (R, D) knowledge-base description embeddings (Ex-MCR's retrieval pool;
    # None unless the aligner `uses_texts`)
    paired: np.ndarray | None = None  # (N, D) features of each sample's partner in a paired modality, NaN rows if none

    @property
    def n_classes(self) -> int:
        return int(max(self.centre_class.max(), self.train_y.max())) + 1


@dataclass(frozen=True)
class Objective:
    """A prepared loss: `n_items` training items (samples, or pseudo-pairs) drawn in batches by index."""

    loss: LossFn
    n_items: int


class Aligner(Protocol):
    """An alignment strategy (ALIGNERS). Instances are frozen records of their options."""

    name: ClassVar[str]

    @property
    def uses_partner(self) -> bool:
        """Whether its objective reads `AlignData.paired` (the stage joins a paired benchmark's features only then)."""
        ...

    @property
    def uses_texts(self) -> bool:
        """Whether its objective reads `AlignData.texts` (the stage reads the C x M description vectors only then)."""
        ...

    def build(self, dim: int) -> nn.Module:
        """(N, D) -> (N, D) trainable map of frozen features; the identity at step 0."""
        ...

    def objective(self, data: AlignData, device: torch.device) -> Objective: ...


def options_of(aligner: Any) -> dict[str, Any]:
    """The aligner's options as recorded (safetensors metadata, cache keys, evaluation rows)."""
    return asdict(aligner)


def identity_linear(dim: int, identity_init: bool = True) -> nn.Linear:
    """Linear(D, D); with `identity_init` weight = I and bias = 0."""
    head = nn.Linear(dim, dim)
    if identity_init:
        with torch.no_grad():
            head.weight.copy_(torch.eye(dim))
            head.bias.zero_()
    return head


def contrastive_loss(logits: torch.Tensor) -> torch.Tensor:
    """(B, B) logits whose diagonal holds the positives -> cross-entropy rows -> columns."""
    return nn.functional.cross_entropy(logits, torch.arange(len(logits), device=logits.device))


def symmetric_info_nce(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """(B, D), (B, D) unit vectors, row i of each a positive pair -> mean of both directions' InfoNCE."""
    logits = a @ b.T / temperature
    return (contrastive_loss(logits) + contrastive_loss(logits.T)) / 2


def centre_loss(
    z: torch.Tensor,
    y: torch.Tensor,
    centres: torch.Tensor,
    centre_class: torch.Tensor,
    n_classes: int,
    temperature: float,
) -> torch.Tensor:
    """Cross-entropy over classes scored by their best centre: max_k cos(z, z_c^k). z (B, D), centres (M, D)."""
    sims = z @ centres.T / temperature  # (B, M)
    per_class = torch.full((len(z), n_classes), -1e4, device=z.device, dtype=sims.dtype).scatter_reduce(
        1, centre_class.expand(len(z), -1), sims, reduce="amax"
    )  # (B, C)
    return nn.functional.cross_entropy(per_class, y)


def tensor(a: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).to(device)
