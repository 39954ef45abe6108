"""`exmcr` (arXiv 2310.08884): extend the text space to a modality with no paired data.

No caption and no label is used. Pseudo-pairs are retrieved through the knowledge base's texts in the
shared space (FAISS inner product): from each sample x_i its k nearest texts, softmax-weighted into
t~_i, and back from t~_i its k nearest samples into x^_i; from each text t_j its k nearest samples into
x~_j. Pairs: (x_i | x^_i, t~_i) and (x~_j, t_j). The projector is an identity-initialized Linear(D, D)
followed by a residual MLP whose last layer starts at zero (so step 0 is zero-shot, [ours]). The dense
loss averages symmetric InfoNCE over every (data-side member, text-side member) combination of the batch.

Streaming (issue 21): the retrieval keeps only each query's k neighbour ids and softmax weights ((Q, k) each,
`Neighbours`), searched in blocks of `SEARCH_BLOCK` queries against one exact FAISS index per pool, and a
batch's pseudo-pair vectors are aggregated from them when the batch is drawn (`PseudoPairs.rows`): memory
O(N + R) x k plus O(batch x k x D), never the (Q, k, D) gather or the (N + R, D) pair arrays. The rows are the
ones the former all-at-once code computed (the same searches, weights and per-row sums).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np
import torch
from torch import nn

from unibind_core.aligners.base import AlignData, Objective, identity_linear, symmetric_info_nce, tensor
from unibind_core.centres import normalize
from unibind_core.nn_search import inner_product_index

SEARCH_BLOCK = 1 << 15  # queries per FAISS search: (block, k) results at a time
GATHER_ROWS = 1 << 12  # rows aggregated at a time: a (rows, k, D) float32 gather, 128 MiB at k = 8, D = 1024


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


class Neighbours(NamedTuple):
    """Each query's k nearest rows of a pool and their softmax(sim / τ) weights: ids (Q, k) int64, w (Q, k)."""

    ids: np.ndarray
    w: np.ndarray


def unit_index(pool: np.ndarray) -> object:
    """An exact inner-product index of the pool's rows, normalized block by block (the index holds the one copy)."""
    index = inner_product_index(np.zeros((0, pool.shape[1]), np.float32))
    for i in range(0, len(pool), SEARCH_BLOCK):
        index.add(normalize(pool[i:i + SEARCH_BLOCK]))
    return index


def neighbours(index: object, queries: Callable[[int, int], np.ndarray], n: int, k: int,
               temperature: float) -> Neighbours:
    """`queries(a, b)` -> (b - a, D) unit query rows [a, b) of n, searched SEARCH_BLOCK at a time -> Neighbours."""
    ids = np.empty((n, min(k, index.ntotal)), np.int64)
    w = np.empty(ids.shape, np.float32)
    for a in range(0, n, SEARCH_BLOCK):
        b = min(n, a + SEARCH_BLOCK)
        sims, ids[a:b] = index.search(np.ascontiguousarray(queries(a, b), dtype=np.float32), ids.shape[1])
        e = np.exp((sims - sims.max(1, keepdims=True)) / temperature)
        w[a:b] = e / e.sum(1, keepdims=True)
    return Neighbours(ids, w)


def pooled(found: Neighbours, rows: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """(len(rows), D): normalized weighted mean of the pool rows (normalized) that queries `rows` found,
    GATHER_ROWS rows at a time (each row's sum is the same in any block)."""
    out = np.empty((len(rows), pool.shape[1]), np.float32)
    for a in range(0, len(rows), GATHER_ROWS):
        ids, w = found.ids[rows[a:a + GATHER_ROWS]], found.w[rows[a:a + GATHER_ROWS]]
        vectors = normalize(pool[ids.ravel()]).reshape(*ids.shape, pool.shape[1])  # (rows, k, D)
        out[a:a + len(ids)] = normalize(np.einsum("qk,qkd->qd", w, vectors).astype(np.float32))
    return out


def aggregate(queries: np.ndarray, pool: np.ndarray, k: int, temperature: float) -> np.ndarray:
    """(Q, D) unit queries, (P, D) pool (its rows normalized) -> (Q, D): normalized softmax(sim / τ)-weighted mean
    of each query's k nearest pool rows."""
    found = neighbours(unit_index(pool), lambda a, b: queries[a:b], len(queries), k, temperature)
    return np.concatenate([pooled(found, np.arange(a, min(len(queries), a + SEARCH_BLOCK)), pool)
                           for a in range(0, len(queries), SEARCH_BLOCK)] or [np.zeros((0, pool.shape[1]), np.float32)])


@dataclass(frozen=True)
class PseudoPairs:
    """Ex-MCR's N + R pseudo-pairs as neighbour lists over the samples x (N, D) and the texts t (R, D):
    pair i < N is (x_i | x^_i, t~_i), pair N + j is (x~_j, t_j); `rows(idx)` makes a batch's vectors."""

    x: np.ndarray
    t: np.ndarray
    texts_of_x: Neighbours  # (N, k) nearest texts of each sample -> t~
    x_of_tilde: Neighbours  # (N, k) nearest samples of each t~ -> x^
    x_of_t: Neighbours  # (R, k) nearest samples of each text -> x~

    def __len__(self) -> int:
        return len(self.x) + len(self.t)

    def rows(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(B,) pair indices -> data-side members (B, D) twice and the text side (B, D), float32 unit rows."""
        n, dim = len(self.x), self.x.shape[1]
        a, b, text = (np.empty((len(idx), dim), np.float32) for _ in range(3))
        s, j = idx < n, idx[idx >= n] - n
        a[s] = normalize(self.x[idx[s]])
        b[s] = pooled(self.x_of_tilde, idx[s], self.x)
        text[s] = pooled(self.texts_of_x, idx[s], self.t)
        a[~s] = b[~s] = pooled(self.x_of_t, j, self.x)
        text[~s] = normalize(self.t[j])
        return a, b, text


@dataclass(frozen=True)
class ExMCR:
    name: ClassVar[str] = "exmcr"
    uses_partner: ClassVar[bool] = False  # no paired-modality member
    uses_texts: ClassVar[bool] = True  # retrieves its pseudo-pairs through the knowledge base's descriptions
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

    def retrieve(self, data: AlignData) -> PseudoPairs:
        """The pseudo-pairs' neighbour lists: three exact searches in query blocks (samples -> texts, their
        pseudo texts -> samples, texts -> samples), one index per pool, no (Q, k, D) array."""
        if data.texts is None or not len(data.texts):
            raise ValueError("exmcr needs knowledge-base text embeddings to retrieve pseudo-pairs through")
        x, t, k, tau = data.train_x, data.texts, self.top_k, self.retrieval_temperature
        texts_of_x = neighbours(unit_index(t), lambda a, b: normalize(x[a:b]), len(x), k, tau)
        x_index = unit_index(x)
        x_of_tilde = neighbours(x_index, lambda a, b: pooled(texts_of_x, np.arange(a, b), t), len(x), k, tau)
        x_of_t = neighbours(x_index, lambda a, b: normalize(t[a:b]), len(t), k, tau)
        return PseudoPairs(x, t, texts_of_x, x_of_tilde, x_of_t)

    def pseudo_pairs(self, data: AlignData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """-> data-side members (P, D) twice and text-side (P, D), P = N + R: every pair at once (small data)."""
        pairs = self.retrieve(data)
        return pairs.rows(np.arange(len(pairs)))

    def objective(self, data: AlignData, device: torch.device) -> Objective:
        pairs = self.retrieve(data)

        def loss(proj: nn.Module, idx: torch.Tensor) -> torch.Tensor:
            a, b, ta = (tensor(v, idx.device) for v in pairs.rows(idx.cpu().numpy()))  # (B, D) each
            terms = [symmetric_info_nce(nn.functional.normalize(proj(side), dim=-1), ta, self.temperature)
                     for side in (a, b)]
            return sum(terms) / len(terms)

        return Objective(loss, len(pairs))
