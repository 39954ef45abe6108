"""`exmcr` (arXiv 2310.08884): extend the text space to a modality with no paired data.

No caption and no label is used. Pseudo-pairs are retrieved through the knowledge base's texts in the
shared space (FAISS inner product): from each sample x_i its k nearest texts, softmax-weighted into
t~_i, and back from t~_i its k nearest samples into x^_i; from each text t_j its k nearest samples into
x~_j. Pairs: (x_i | x^_i, t~_i) and (x~_j, t_j). The projector is an identity-initialized Linear(D, D)
followed by a residual MLP whose last layer starts at zero (so step 0 is zero-shot, [ours]). The dense
loss averages symmetric InfoNCE over every (data-side member, text-side member) combination of the batch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from unibind_core.aligners.base import AlignData, Objective, identity_linear, symmetric_info_nce, tensor
from unibind_core.centres import normalize
from unibind_core.nn_search import search_inner_product


class Projector(nn.Module):
    """x -> h + MLP(h), h = Linear(x) (identity at init); MLP: Linear(D, hidden), GELU, Linear(hidden, D) = 0."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.linear = identity_linear(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        with torch.no_grad():
            self.mlp[2].weight.zero_()
            self.mlp[2].bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.linear(x)
        return h + self.mlp(h)


def aggregate(queries: np.ndarray, pool: np.ndarray, k: int, temperature: float) -> np.ndarray:
    """(Q, D) queries, (P, D) pool -> (Q, D): normalized softmax(sim / τ)-weighted mean of each query's k nearest."""
    sims, ids = search_inner_product(pool, queries, k)
    w = np.exp((sims - sims.max(1, keepdims=True)) / temperature)
    w /= w.sum(1, keepdims=True)
    return normalize(np.einsum("qk,qkd->qd", w, pool[ids]).astype(np.float32))


@dataclass(frozen=True)
class ExMCR:
    name: ClassVar[str] = "exmcr"
    uses_partner: ClassVar[bool] = False  # no paired-modality member
    temperature: float = 0.07
    top_k: int = 8  # neighbours retrieved per query
    retrieval_temperature: float = 0.05  # softmax temperature of the neighbours' weights
    hidden: int = 512  # width of the projector's MLP

    @classmethod
    def from_settings(cls, s) -> ExMCR:
        a = s.alignment
        return cls(temperature=s.temperature, top_k=a.exmcr_top_k)

    def build(self, dim: int) -> nn.Module:
        return Projector(dim, self.hidden)

    def pseudo_pairs(self, data: AlignData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """-> data-side members (P, D) twice and text-side (P, D); P = N + R pseudo-pairs."""
        if data.texts is None or not len(data.texts):
            raise ValueError("exmcr needs knowledge-base text embeddings to retrieve pseudo-pairs through")
        x, t = normalize(data.train_x), normalize(data.texts)
        t_tilde = aggregate(x, t, self.top_k, self.retrieval_temperature)  # (N, D) texts of each sample
        x_hat = aggregate(t_tilde, x, self.top_k, self.retrieval_temperature)  # (N, D) samples of those texts
        x_tilde = aggregate(t, x, self.top_k, self.retrieval_temperature)  # (R, D) samples of each text
        return np.concatenate([x, x_tilde]), np.concatenate([x_hat, x_tilde]), np.concatenate([t_tilde, t])

    def objective(self, data: AlignData, device: torch.device) -> Objective:
        a, b, text = (tensor(v, device) for v in self.pseudo_pairs(data))

        def loss(proj: nn.Module, idx: torch.Tensor) -> torch.Tensor:
            ta = text[idx]
            terms = [symmetric_info_nce(nn.functional.normalize(proj(side[idx]), dim=-1), ta, self.temperature)
                     for side in (a, b)]
            return sum(terms) / len(terms)

        return Objective(loss, len(a))
