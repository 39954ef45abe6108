"""LLM-augmented contrastive fine-tuning (docs/method.md §4) on cached frozen-backbone features.

One Linear(D, D) head per modality and dataset. Positive pair: a sample and its own caption (joined by
ID); in-batch negatives; cross-entropy data -> text. Because the backbone is frozen and nothing is
augmented, training on cached features gives exactly the gradients of training through the backbone.
"""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from unibind_core.centres import predict_with_centres
from unibind_core.progress import Tracker


@dataclass(frozen=True)
class HeadConfig:
    batch_size: int = 128
    lr: float = 1e-3
    epochs: int = 20
    temperature: float = 0.07  # 1.0 reproduces the released code, which uses no temperature
    weight_decay: float = 0.01  # AdamW, eps 1e-8 [code]
    grad_clip: float = 1.0
    identity_init: bool = True  # step 0 reproduces zero-shot accuracy
    symmetric: bool = False  # add the text -> data direction
    centre_weight: float = 0.0  # optional pull of data towards its class's centres
    seed: int = 1234  # [code]


def make_head(dim: int, identity_init: bool) -> nn.Linear:
    head = nn.Linear(dim, dim)
    if identity_init:
        with torch.no_grad():
            head.weight.copy_(torch.eye(dim))
            head.bias.zero_()
    return head


def apply_head(head: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return nn.functional.normalize(head(torch.from_numpy(x)), dim=-1).numpy()


def contrastive_loss(logits: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(logits, torch.arange(len(logits)))


def _centre_loss(z: torch.Tensor, y: torch.Tensor, centres: torch.Tensor, centre_class: torch.Tensor,
                 n_classes: int, temperature: float) -> torch.Tensor:
    """Cross-entropy over classes scored by their best centre: max_k cos(z, z_c^k)."""
    sims = z @ centres.T / temperature  # (B, M)
    per_class = torch.full((len(z), n_classes), -1e4).scatter_reduce(
        1, centre_class.expand(len(z), -1), sims, reduce="amax")  # (B, C)
    return nn.functional.cross_entropy(per_class, y)


def train_head(train_x: np.ndarray, train_text: np.ndarray, train_y: np.ndarray, eval_x: np.ndarray,
               eval_y: np.ndarray, centres: np.ndarray, centre_class: np.ndarray, cfg: HeadConfig,
               text_index: np.ndarray | None = None, label: str = "head"
               ) -> tuple[nn.Linear, list[dict]]:
    """Train on (N, D) features against caption embeddings; keep the head that is best on eval.

    `train_text` is (N, D), row i the caption of sample i, or (T, D) with `text_index` (N,) naming each
    sample's row (so a large caption table is used in place, not copied into sample order).
    Returns the best head and one history row per epoch (loss, eval accuracy with centres).
    """
    torch.manual_seed(cfg.seed)
    x, t = torch.from_numpy(train_x), torch.from_numpy(train_text)
    t_of = torch.from_numpy(text_index) if text_index is not None else torch.arange(len(x))
    y = torch.from_numpy(train_y.astype(np.int64))
    c, cc = torch.from_numpy(centres), torch.from_numpy(centre_class.astype(np.int64))
    n_classes = int(max(centre_class.max(), train_y.max())) + 1
    head = make_head(x.shape[1], cfg.identity_init)
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, eps=1e-8)
    steps_per_epoch = -(-len(x) // cfg.batch_size)
    total = max(cfg.epochs * steps_per_epoch, 1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1 - s / total))  # linear decay, no warm-up

    def eval_acc() -> float:
        pred = predict_with_centres(apply_head(head, eval_x), centres, centre_class)
        return float((pred == eval_y).mean()) if len(eval_y) else 0.0

    best = {"epoch": 0, "eval_accuracy": eval_acc(), "loss": float("nan")}
    best_state, history = copy.deepcopy(head.state_dict()), [dict(best)]
    gen = torch.Generator().manual_seed(cfg.seed)
    epochs = Tracker(f"fine-tune {label}", cfg.epochs, unit="epoch", min_interval=0)
    for epoch in range(1, cfg.epochs + 1):
        perm, losses = torch.randperm(len(x), generator=gen), []
        for start in range(0, len(x), cfg.batch_size):
            idx = perm[start : start + cfg.batch_size]
            z = nn.functional.normalize(head(x[idx]), dim=-1)  # (B, D)
            logits = z @ nn.functional.normalize(t[t_of[idx]], dim=-1).T / cfg.temperature  # (B, B)
            loss = contrastive_loss(logits)
            if cfg.symmetric:
                loss = (loss + contrastive_loss(logits.T)) / 2
            if cfg.centre_weight:
                loss = loss + cfg.centre_weight * _centre_loss(z, y[idx], c, cc, n_classes, cfg.temperature)
            if not torch.isfinite(loss):
                raise ValueError(f"{label}: the loss is {loss.item()} at epoch {epoch}, step {start // cfg.batch_size + 1}"
                                 f" of {steps_per_epoch}; training stopped (check the features, captions and "
                                 f"temperature {cfg.temperature})")
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(head.parameters(), cfg.grad_clip)
            opt.step()
            sched.step()
            losses.append(loss.item())
        row = {"epoch": epoch, "eval_accuracy": eval_acc(), "loss": float(np.mean(losses))}
        history.append(row)
        epochs.advance(loss=row["loss"], eval_accuracy=row["eval_accuracy"])
        if row["eval_accuracy"] > best["eval_accuracy"]:
            best, best_state = row, copy.deepcopy(head.state_dict())
    epochs.close()
    head.load_state_dict(best_state)
    return head.eval(), history


def config_record(cfg: HeadConfig) -> dict:
    return asdict(cfg)
