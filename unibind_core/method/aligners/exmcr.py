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

At scale ([ours], issue 21): all-pairs retrieval costs O(N x (N + R)) inner products, 8.6e15 FLOP at ImageNet
size (1.28M samples, 1M descriptions), days on a CPU. `max_pairs` caps the pseudo-pairs to a seeded subset of
the samples and texts (split in proportion to N and R) and `pool_size` caps each retrieval pool (the texts a
sample searches, the samples a text or pseudo text searches) to a seeded subset; below both caps (every demo
and test size) nothing is sampled and the pairs are exactly the all-pairs ones. None lifts a cap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np
import torch
from torch import nn

from unibind_core.method.aligners.base import AlignData, Objective, identity_linear, symmetric_info_nce, tensor
from unibind_core.method.centres import normalize
from unibind_core.method.nn_search import inner_product_index

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


def unit_index(pool: np.ndarray, rows: np.ndarray | None = None) -> object:
    """An exact inner-product index of the pool's rows (or of `rows` of it), normalized block by block (the
    index holds the one float32 copy, whatever the pool's precision)."""
    index = inner_product_index(np.zeros((0, pool.shape[1]), np.float32))
    n = len(pool) if rows is None else len(rows)
    for i in range(0, n, SEARCH_BLOCK):
        index.add(normalize(_block(pool, rows, i, i + SEARCH_BLOCK)))
    return index


def subset(n: int, cap: int | None, rng: np.random.Generator) -> np.ndarray | None:
    """Sorted seeded sample of `cap` of n rows; None (every row, in order) when n is within the cap."""
    return None if cap is None or n <= cap else np.sort(rng.choice(n, cap, replace=False))


def pair_counts(n: int, r: int, cap: int | None) -> tuple[int | None, int | None]:
    """How many of the n samples and r texts start a pseudo-pair under `cap` (in proportion; None: all)."""
    if cap is None or n + r <= cap:
        return None, None
    from_x = min(n, max(1, round(cap * n / (n + r))))
    return from_x, min(r, cap - from_x)


def _pick(rows: np.ndarray | None, idx: np.ndarray) -> np.ndarray:
    """Positions `idx` among the chosen `rows` -> rows of the full array (None: every row, in order)."""
    return idx if rows is None else rows[idx]


def _block(a: np.ndarray, rows: np.ndarray | None, lo: int, hi: int) -> np.ndarray:
    """Chosen rows [lo, hi) of `a`: a view of a[lo:hi] when every row is chosen."""
    return a[lo:hi] if rows is None else a[rows[lo:hi]]


def neighbours(
    index: object,
    queries: Callable[[int, int], np.ndarray],
    n: int,
    k: int,
    temperature: float,
    pool_rows: np.ndarray | None = None,
) -> Neighbours:
    """`queries(a, b)` -> (b - a, D) unit query rows [a, b) of n, searched SEARCH_BLOCK at a time -> Neighbours;
    an index of `pool_rows` of a pool gives ids of the pool itself."""
    ids = np.empty((n, min(k, index.ntotal)), np.int64)
    w = np.empty(ids.shape, np.float32)
    for a in range(0, n, SEARCH_BLOCK):
        b = min(n, a + SEARCH_BLOCK)
        sims, found = index.search(np.ascontiguousarray(queries(a, b), dtype=np.float32), ids.shape[1])
        ids[a:b] = _pick(pool_rows, found)
        e = np.exp((sims - sims.max(1, keepdims=True)) / temperature)
        w[a:b] = e / e.sum(1, keepdims=True)
    return Neighbours(ids, w)


def pooled(found: Neighbours, rows: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """(len(rows), D): normalized weighted mean of the pool rows (normalized) that queries `rows` found,
    GATHER_ROWS rows at a time (each row's sum is the same in any block)."""
    out = np.empty((len(rows), pool.shape[1]), np.float32)
    for a in range(0, len(rows), GATHER_ROWS):
        ids, w = found.ids[rows[a : a + GATHER_ROWS]], found.w[rows[a : a + GATHER_ROWS]]
        vectors = normalize(pool[ids.ravel()]).reshape(*ids.shape, pool.shape[1])  # (rows, k, D)
        out[a : a + len(ids)] = normalize(np.einsum("qk,qkd->qd", w, vectors).astype(np.float32))
    return out


def aggregate(queries: np.ndarray, pool: np.ndarray, k: int, temperature: float) -> np.ndarray:
    """(Q, D) unit queries, (P, D) pool (its rows normalized) -> (Q, D): normalized softmax(sim / τ)-weighted mean
    of each query's k nearest pool rows."""
    found = neighbours(unit_index(pool), lambda a, b: queries[a:b], len(queries), k, temperature)
    return np.concatenate(
        [
            pooled(found, np.arange(a, min(len(queries), a + SEARCH_BLOCK)), pool)
            for a in range(0, len(queries), SEARCH_BLOCK)
        ]
        or [np.zeros((0, pool.shape[1]), np.float32)]
    )


@dataclass(frozen=True)
class PseudoPairs:
    """Ex-MCR's pseudo-pairs as neighbour lists over the samples x (N, D) and the texts t (R, D): pair i < n_x
    is (x_s | x^_s, t~_s) for sample s = x_rows[i], pair n_x + j is (x~_u, t_u) for text u = t_rows[j] (rows None:
    every sample or text, in order); `rows(idx)` makes a batch's vectors."""

    x: np.ndarray
    t: np.ndarray
    texts_of_x: Neighbours  # (n_x, k) nearest texts of each pair's sample -> t~
    x_of_tilde: Neighbours  # (n_x, k) nearest samples of each t~ -> x^
    x_of_t: Neighbours  # (n_t, k) nearest samples of each pair's text -> x~
    x_rows: np.ndarray | None = None
    t_rows: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.texts_of_x.ids) + len(self.x_of_t.ids)

    def rows(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(B,) pair indices -> data-side members (B, D) twice and the text side (B, D), float32 unit rows."""
        n, dim = len(self.texts_of_x.ids), self.x.shape[1]
        a, b, text = (np.empty((len(idx), dim), np.float32) for _ in range(3))
        s, j = idx < n, idx[idx >= n] - n
        a[s] = normalize(self.x[_pick(self.x_rows, idx[s])])
        b[s] = pooled(self.x_of_tilde, idx[s], self.x)
        text[s] = pooled(self.texts_of_x, idx[s], self.t)
        a[~s] = b[~s] = pooled(self.x_of_t, j, self.x)
        text[~s] = normalize(self.t[_pick(self.t_rows, j)])
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
    max_pairs: int | None = None  # pseudo-pairs from at most this many samples + texts (None: all, the paper)
    pool_size: int | None = None  # rows of each retrieval pool (None: all: exact all-pairs retrieval)
    seed: int = 0  # of the subsets

    @classmethod
    def from_settings(cls, s) -> ExMCR:
        a = s.alignment
        return cls(temperature=s.temperature, top_k=a.exmcr_top_k, max_pairs=a.exmcr_max_pairs, pool_size=a.exmcr_pool)

    def build(self, dim: int) -> nn.Module:
        return Projector(dim, self.hidden)

    def retrieve(self, data: AlignData) -> PseudoPairs:
        """The pseudo-pairs' neighbour lists: three exact searches in query blocks (samples -> texts, their
        pseudo texts -> samples, texts -> samples), one index per pool, no (Q, k, D) array; the pair starts
        and the pools sampled as the caps say."""
        if data.texts is None or not len(data.texts):
            raise ValueError("exmcr needs knowledge-base text embeddings to retrieve pseudo-pairs through")
        x, t, k, tau = data.train_x, data.texts, self.top_k, self.retrieval_temperature
        rng = np.random.default_rng(self.seed)
        n_x, n_t = pair_counts(len(x), len(t), self.max_pairs)
        x_rows, t_rows = subset(len(x), n_x, rng), subset(len(t), n_t, rng)
        x_pool, t_pool = subset(len(x), self.pool_size, rng), subset(len(t), self.pool_size, rng)
        starts_x = len(x) if x_rows is None else len(x_rows)
        starts_t = len(t) if t_rows is None else len(t_rows)
        texts_of_x = neighbours(
            unit_index(t, t_pool), lambda a, b: normalize(_block(x, x_rows, a, b)), starts_x, k, tau, t_pool
        )
        x_index = unit_index(x, x_pool)
        x_of_tilde = neighbours(x_index, lambda a, b: pooled(texts_of_x, np.arange(a, b), t), starts_x, k, tau, x_pool)
        x_of_t = neighbours(x_index, lambda a, b: normalize(_block(t, t_rows, a, b)), starts_t, k, tau, x_pool)
        return PseudoPairs(x, t, texts_of_x, x_of_tilde, x_of_t, x_rows, t_rows)

    def pseudo_pairs(self, data: AlignData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """-> data-side members (P, D) twice and text-side (P, D), P = N + R below the caps: every pair at once
        (small data)."""
        pairs = self.retrieve(data)
        return pairs.rows(np.arange(len(pairs)))

    def objective(self, data: AlignData, device: torch.device) -> Objective:
        pairs = self.retrieve(data)

        def loss(proj: nn.Module, idx: torch.Tensor) -> torch.Tensor:
            a, b, ta = (tensor(v, idx.device) for v in pairs.rows(idx.cpu().numpy()))  # (B, D) each
            terms = [
                symmetric_info_nce(nn.functional.normalize(proj(side), dim=-1), ta, self.temperature) for side in (a, b)
            ]
            return sum(terms) / len(terms)

        return Objective(loss, len(pairs))
