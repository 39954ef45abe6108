"""The training loop every aligner shares (docs/method.md §4), on cached frozen-backbone features.

Because the backbone is frozen and nothing is augmented, training on cached features gives exactly the
gradients of training through the backbone. AdamW, linear decay to 0 without warm-up, global gradient
clip; evaluation on the eval split at step 0, then every `eval_every` steps (default: every epoch), and
the module best on eval is kept. Runs on the configured device; on CUDA under bf16 autocast when the
dtype resolves to bf16 (core/torch_setup.py).
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from unibind_core.core.progress import Tracker
from unibind_core.core.torch_setup import resolve_device, resolve_dtype
from unibind_core.method.aligners.base import AlignData, Aligner, identity_linear
from unibind_core.method.aligners.lcl import LCL
from unibind_core.method.aligners.store import project
from unibind_core.method.centres import predict_with_centres


@dataclass(frozen=True)
class HeadConfig:
    """Knobs of the loop (the aligner's own options live on the aligner)."""

    batch_size: int = 128
    lr: float = 1e-3
    epochs: int = 20
    weight_decay: float = 0.01  # AdamW, eps 1e-8 [code]
    grad_clip: float = 1.0
    seed: int = 1234  # [code]
    eval_every: int | None = None  # optimizer steps between evaluations; None: once per epoch
    device: str = "cpu"  # auto, cpu, cuda, cuda:N
    dtype: str = "auto"  # autocast dtype on CUDA (auto: bf16 where supported); CPU always trains in fp32


def make_head(dim: int, identity_init: bool) -> nn.Linear:
    return identity_linear(dim, identity_init)


def apply_head(head: nn.Module, x: np.ndarray) -> np.ndarray:
    """(N, D) features -> (N, D) unit vectors through any aligner's module."""
    return project(head, x)


def fit(aligner: Aligner, data: AlignData, cfg: HeadConfig, label: str = "head") -> tuple[nn.Module, list[dict]]:
    """Train `aligner` on `data`; return its module best on eval (on CPU) and one history row per evaluation
    (epoch, step, loss since the previous evaluation, eval accuracy with centres)."""
    torch.manual_seed(cfg.seed)
    device = resolve_device(cfg.device)
    dtype = resolve_dtype(cfg.dtype, device)
    autocast = device.type == "cuda" and dtype != torch.float32
    amp_dtype = dtype if autocast else torch.float32
    objective = aligner.objective(data, device)
    module = aligner.build(data.train_x.shape[1]).to(device)
    opt = torch.optim.AdamW(module.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, eps=1e-8)
    steps_per_epoch = -(-objective.n_items // cfg.batch_size)
    total = max(cfg.epochs * steps_per_epoch, 1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1 - s / total))  # linear decay, no warm-up
    every = cfg.eval_every or steps_per_epoch

    def eval_acc() -> float:
        pred = predict_with_centres(project(module, data.eval_x), data.centres, data.centre_class)
        return float((pred == data.eval_y).mean()) if len(data.eval_y) else 0.0

    best = {"epoch": 0, "step": 0, "eval_accuracy": eval_acc(), "loss": float("nan")}
    best_state, history = copy.deepcopy(module.state_dict()), [dict(best)]
    gen = torch.Generator().manual_seed(cfg.seed)
    epochs = Tracker(f"fine-tune {label}", cfg.epochs, unit="epoch", min_interval=0)
    step, losses = 0, []
    for epoch in range(1, cfg.epochs + 1):
        perm = torch.randperm(objective.n_items, generator=gen)
        for start in range(0, objective.n_items, cfg.batch_size):
            idx = perm[start : start + cfg.batch_size].to(device)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=autocast):
                loss = objective.loss(module, idx)
            if not torch.isfinite(loss):
                raise ValueError(
                    f"{label}: the loss is {loss.item()} at epoch {epoch}, step {start // cfg.batch_size + 1}"
                    f" of {steps_per_epoch}; training stopped (check the features, captions and "
                    "the aligner's temperature)"
                )
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(module.parameters(), cfg.grad_clip)
            opt.step()
            sched.step()
            losses.append(loss.item())
            step += 1
            if step % every == 0 or step == total:
                row = {"epoch": epoch, "step": step, "eval_accuracy": eval_acc(), "loss": float(np.mean(losses))}
                history.append(row)
                losses = []
                if row["eval_accuracy"] > best["eval_accuracy"]:
                    best, best_state = row, copy.deepcopy(module.state_dict())
        epochs.advance(loss=history[-1]["loss"], eval_accuracy=history[-1]["eval_accuracy"])
    epochs.close()
    module.load_state_dict(best_state)
    return module.cpu().eval(), history


def train_head(
    train_x: np.ndarray,
    train_text: np.ndarray,
    train_y: np.ndarray,
    eval_x: np.ndarray,
    eval_y: np.ndarray,
    centres: np.ndarray,
    centre_class: np.ndarray,
    cfg: HeadConfig,
    text_index: np.ndarray | None = None,
    label: str = "head",
    aligner: Aligner | None = None,
) -> tuple[nn.Module, list[dict]]:
    """`fit` with plain arrays: (N, D) features against captions `train_text`, (N, D) in sample order or
    (T, D) with `text_index` (N,) naming each sample's row; the aligner defaults to `lcl`."""
    index = text_index if text_index is not None else np.arange(len(train_x))
    data = AlignData(train_x, train_y, train_text, index, centres, centre_class, eval_x, eval_y)
    return fit(aligner or LCL(), data, cfg, label)


def config_record(cfg: HeadConfig) -> dict:
    return asdict(cfg)
