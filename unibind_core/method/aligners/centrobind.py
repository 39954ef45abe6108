"""`centrobind` (arXiv 2410.02086): align every embedding of a sample to the centroid of them all.

Per sample the anchor is the normalized weighted mean of its available embeddings: the projected data
z = normalize(head(x)), its caption, its class's centres (their normalized mean, one member: K centres
would otherwise outweigh the rest), and its partner in a paired modality where the dataset has one.
Each member is aligned to the anchor with a symmetric InfoNCE (in-batch negatives), weighted as in the
centroid. [ours] Only the data side is trainable here (captions, centres and partners are frozen), so
with `detach_anchor` the gradient flows through the data member alone; without it also through the anchor.
The members are gathered per batch from the shared inputs (captions by index, the (C, D) class means by label,
partners by row): memory O(batch x D) beside them, no (N, D) copy per member.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from unibind_core.evaluation.evaluate import template_classifier
from unibind_core.method.aligners.base import AlignData, Objective, identity_linear, symmetric_info_nce, tensor

# a batch's members: (weight, (B, D) unit vectors, (B,) bool mask of the rows that have it or None), and the anchor
Members = tuple[list[tuple[float, torch.Tensor, torch.Tensor | None]], torch.Tensor]


@dataclass(frozen=True)
class CentroBind:
    name: ClassVar[str] = "centrobind"
    uses_texts: ClassVar[bool] = False  # its members are captions, centres and partners
    temperature: float = 0.07
    detach_anchor: bool = True  # the anchor is a target, not trained towards its members
    data_weight: float = 1.0  # weights of the members, in the centroid and in the loss
    caption_weight: float = 1.0
    centre_weight: float = 1.0
    paired_weight: float = 1.0

    @classmethod
    def from_settings(cls, s) -> CentroBind:
        a = s.alignment
        return cls(
            temperature=s.temperature,
            detach_anchor=a.detach_anchor,
            data_weight=a.centroid_data_weight,
            caption_weight=a.centroid_caption_weight,
            centre_weight=a.centroid_centre_weight,
            paired_weight=a.centroid_paired_weight,
        )

    @property
    def uses_partner(self) -> bool:
        return bool(self.paired_weight)

    def build(self, dim: int) -> nn.Module:
        return identity_linear(dim)

    def _members(self, data: AlignData, device: torch.device) -> Callable[[nn.Module, torch.Tensor], Members]:
        """-> (head, (B,) indices) -> the batch's weighted members (weight, (B, D) vectors, (B,) mask or None)
        and their (B, D) centroid anchor."""
        x = tensor(data.train_x, device)
        captions, caption_of = tensor(data.captions, device), tensor(data.caption_index.astype(np.int64), device)
        class_means = tensor(template_classifier(data.centres, data.centre_class, data.n_classes, "centres"), device)
        y = tensor(data.train_y.astype(np.int64), device)
        # each frozen member: (weight, (B,) indices -> (B, D) unit rows, (N,) bool mask or None)
        frozen = [
            (self.caption_weight, lambda idx: nn.functional.normalize(captions[caption_of[idx]].float(), dim=-1), None),
            (self.centre_weight, lambda idx: class_means[y[idx]], None),
        ]  # (C, D) class means, by label
        if data.paired is not None and self.paired_weight:
            has = tensor(~np.isnan(data.paired).any(1), device)
            paired = tensor(data.paired, device)
            frozen.append(
                (self.paired_weight, lambda idx: nn.functional.normalize(torch.nan_to_num(paired[idx]), dim=-1), has)
            )
        frozen = [m for m in frozen if m[0]]

        def members(head: nn.Module, idx: torch.Tensor) -> Members:
            z = nn.functional.normalize(head(x[idx].float()), dim=-1)  # (B, D); float16-held inputs in float32
            batch = [(self.data_weight, z, None)] + [
                (w, rows(idx), None if m is None else m[idx]) for w, rows, m in frozen
            ]
            total = sum(w * (v if m is None else v * m[:, None]) for w, v, m in batch)
            anchor = nn.functional.normalize(total, dim=-1)  # (B, D)
            return batch, anchor.detach() if self.detach_anchor else anchor

        return members

    def anchor(self, data: AlignData, head: nn.Module, idx: torch.Tensor) -> torch.Tensor:
        """(B, D) centroid anchors of the training samples `idx` under `head` (what the loss aligns to)."""
        return self._members(data, torch.device("cpu"))(head, idx)[1]

    def objective(self, data: AlignData, device: torch.device) -> Objective:
        members_of = self._members(data, device)

        def loss(head: nn.Module, idx: torch.Tensor) -> torch.Tensor:
            members, anchor = members_of(head, idx)
            weights = sum(w for w, _, _ in members)
            terms = []
            for w, v, m in members:
                if m is None:
                    terms.append(w * symmetric_info_nce(v, anchor, self.temperature))
                elif bool(m.any()):  # a paired member only where the sample has a partner
                    terms.append(w * symmetric_info_nce(v[m], anchor[m], self.temperature))
            return sum(terms) / weights

        return Objective(loss, len(data.train_x))
