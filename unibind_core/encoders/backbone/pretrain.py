"""Image-centric pre-training of the demo encoders (ImageBind-style binding, on the demo world).

Stage 1 aligns the image encoder with the text tower (image <-> class-prompt text, InfoNCE over the
classes). Stage 2 binds every other modality to images only: each is pulled towards the frozen image
embedding of its class and never sees text. The result is a genuinely image-centred space in which the
non-image modalities reach language only through images: the imbalance UniBind sets out to correct.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from unibind_core.core.modality import Modality
from unibind_core.core.options import option
from unibind_core.core.progress import Tracker
from unibind_core.encoders.backbone.demo import DemoEncoders

ANCHOR = Modality.IMAGE


@dataclass(frozen=True)
class PretrainConfig:
    epochs_anchor: int = option(15, "image <-> text epochs")
    epochs_bind: int = option(15, "other modality <-> image epochs")
    batch_size: int = option(64, "pre-training batch size")
    lr: float = option(2e-3, "AdamW learning rate")
    temperature: float = option(0.1, "InfoNCE temperature")
    width: int = option(256, "trunk output width before the projection")
    seed: int = option(0, "pre-training seed")


@dataclass(frozen=True)
class ModalityData:
    inputs: torch.Tensor  # (N, *loader shape), training split only
    class_names: tuple[str, ...]  # (N,) display names: the demo's common class identity


def _fit(
    model: DemoEncoders,
    modality: str,
    data: ModalityData,
    targets: torch.Tensor,
    names: list[str],
    epochs: int,
    cfg: PretrainConfig,
) -> float:
    """InfoNCE of each sample against all class targets (C, D); returns the last epoch's mean loss."""
    index = {n: i for i, n in enumerate(names)}
    missing = sorted(set(data.class_names) - index.keys())
    if missing:
        raise ValueError(f"{modality} classes {missing[:5]} have no {ANCHOR} counterpart to bind to")
    labels = torch.tensor([index[n] for n in data.class_names])
    params = [*model.trunks[modality].parameters(), *model.projections[modality].parameters()]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.01)
    gen = torch.Generator().manual_seed(cfg.seed)
    model.train()
    loss_sum = torch.tensor(0.0)
    epochs_done = Tracker(f"pretrain {modality}", epochs, unit="epoch", min_interval=0)
    for _ in range(epochs):
        perm = torch.randperm(len(labels), generator=gen)
        loss_sum, steps = torch.tensor(0.0), 0
        for start in range(0, len(perm), cfg.batch_size):
            idx = perm[start : start + cfg.batch_size]
            logits = model(modality, data.inputs[idx]) @ targets.T / cfg.temperature  # (B, C)
            loss = nn.functional.cross_entropy(logits, labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum, steps = loss_sum + loss.detach(), steps + 1
        epochs_done.advance(loss=float(loss_sum / max(steps, 1)))
    epochs_done.close()
    model.eval()
    return float(loss_sum / max(steps, 1))


@torch.no_grad()
def _class_means(model: DemoEncoders, data: ModalityData, names: list[str]) -> torch.Tensor:
    z = torch.cat([model(ANCHOR, x) for x in data.inputs.split(512)])
    labels = np.array(data.class_names)
    means = torch.stack([z[torch.from_numpy(labels == n)].mean(0) for n in names])
    return nn.functional.normalize(means, dim=-1)  # (C, D)


def pretrain_demo_encoders(
    data: dict[str, ModalityData], class_text: dict[str, np.ndarray], cfg: PretrainConfig = PretrainConfig()
) -> tuple[DemoEncoders, dict[str, float]]:
    """Train encoders for every modality in `data`; `class_text` maps class name -> (D,) prompt embedding."""
    if ANCHOR not in data:
        raise ValueError(f"image-centric pre-training needs {ANCHOR!r} data; got {sorted(data)}")
    torch.manual_seed(cfg.seed)
    names = sorted(class_text)
    dim = len(next(iter(class_text.values())))
    model = DemoEncoders(sorted(data), dim=dim, width=cfg.width)
    text = torch.from_numpy(np.stack([class_text[n] for n in names])).float()
    losses = {ANCHOR: _fit(model, ANCHOR, data[ANCHOR], text, names, cfg.epochs_anchor, cfg)}
    prototypes = _class_means(model, data[ANCHOR], names)
    for modality in sorted(set(data) - {ANCHOR}):
        losses[modality] = _fit(model, modality, data[modality], prototypes, names, cfg.epochs_bind, cfg)
    for p in model.parameters():
        p.requires_grad_(False)
    return model, losses
