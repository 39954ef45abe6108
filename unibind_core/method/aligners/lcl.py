"""`lcl`: UniBind's LLM-augmented contrastive learning (docs/method.md §4), the default aligner.

Linear(D, D) head; positive pair a sample and its own caption, in-batch negatives, cross-entropy
data -> text at temperature τ; optionally the text -> data direction and a pull towards the class's centres.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from unibind_core.method.aligners.base import (
    AlignData,
    Objective,
    centre_loss,
    contrastive_loss,
    identity_linear,
    tensor,
)


@dataclass(frozen=True)
class LCL:
    name: ClassVar[str] = "lcl"
    uses_partner: ClassVar[bool] = False  # no paired-modality member
    uses_texts: ClassVar[bool] = False  # captions and centres only: the description vectors are not read
    temperature: float = 0.07  # 1.0 reproduces the released code, which uses no temperature
    symmetric: bool = False  # add the text -> data direction
    centre_weight: float = 0.0  # weight of the centre cross-entropy
    identity_init: bool = True  # step 0 reproduces zero-shot accuracy

    @classmethod
    def from_settings(cls, s) -> LCL:
        a = s.alignment
        return cls(temperature=s.temperature, symmetric=a.symmetric, centre_weight=a.centre_weight)

    def build(self, dim: int) -> nn.Module:
        return identity_linear(dim, self.identity_init)

    def objective(self, data: AlignData, device: torch.device) -> Objective:
        x, t = tensor(data.train_x, device), tensor(data.captions, device)
        t_of = tensor(data.caption_index.astype(np.int64), device)
        y = tensor(data.train_y.astype(np.int64), device)
        c, cc = tensor(data.centres, device), tensor(data.centre_class.astype(np.int64), device)
        n_classes = data.n_classes

        def loss(head: nn.Module, idx: torch.Tensor) -> torch.Tensor:
            z = nn.functional.normalize(head(x[idx].float()), dim=-1)  # (B, D); float16-held inputs in float32
            logits = z @ nn.functional.normalize(t[t_of[idx]].float(), dim=-1).T / self.temperature  # (B, B)
            value = contrastive_loss(logits)
            if self.symmetric:
                value = (value + contrastive_loss(logits.T)) / 2
            if self.centre_weight:
                value = value + self.centre_weight * centre_loss(z, y[idx], c, cc, n_classes, self.temperature)
            return value

        return Objective(loss, len(x))
