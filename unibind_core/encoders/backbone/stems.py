"""Small per-modality encoders of the demo backbone. Each maps a loader tensor to (B, width) features.

Chosen per modality through DEMO_STEMS (a table, not branches), ImageBind-style: one trunk per
modality in an nn.ModuleDict and one shared forward.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import torch
from torch import nn

from unibind_core.core.modality import Modality


class Cnn2d(nn.Module):
    """(B, C, S, S) -> (B, width)."""

    def __init__(self, in_channels: int = 1, width: int = 256) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Linear(64 * 16, width),
            nn.ReLU(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class FrameCnn(nn.Module):
    """(B, T, C, S, S) -> (B, width): a 2D CNN per frame, then mean and max over time."""

    def __init__(self, in_channels: int = 1, width: int = 256) -> None:
        super().__init__()
        self.frame = Cnn2d(in_channels, width)
        self.mix = nn.Linear(2 * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[:2]
        f = self.frame(x.flatten(0, 1)).view(b, t, -1)  # (B, T, W)
        return torch.relu(self.mix(torch.cat([f.mean(1), f.amax(1)], dim=-1)))


class Spectrum(nn.Module):
    """(B, L) waveform -> (B, width): log-magnitude STFT pooled over time, then an MLP."""

    def __init__(self, n_fft: int = 256, width: int = 256) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        bins = n_fft // 2 + 1
        self.mlp = nn.Sequential(nn.Linear(2 * bins, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(x, self.n_fft, hop_length=self.n_fft // 4, window=self.window, return_complex=True)
        logmag = torch.log1p(spec.abs())  # (B, F, frames)
        return self.mlp(torch.cat([logmag.mean(-1), logmag.amax(-1)], dim=-1))


class PointNet(nn.Module):
    """(B, N, 3) -> (B, width): shared per-point MLP and a symmetric max pool."""

    def __init__(self, width: int = 256) -> None:
        super().__init__()
        self.point = nn.Sequential(nn.Linear(3, 64), nn.ReLU(), nn.Linear(64, 128), nn.ReLU())
        self.out = nn.Sequential(nn.Linear(128, width), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.point(x).amax(dim=1))


STEMS: Mapping[str, type[nn.Module]] = MappingProxyType(
    {"cnn2d": Cnn2d, "frames": FrameCnn, "spectrum": Spectrum, "pointnet": PointNet}
)

# modality -> (stem, kwargs); loader shapes are documented in unibind_core.data.modalities.
DEMO_STEMS: Mapping[str, tuple[str, Mapping[str, Any]]] = MappingProxyType(
    {
        Modality.IMAGE: ("cnn2d", {"in_channels": 1}),
        Modality.THERMAL: ("cnn2d", {"in_channels": 1}),
        Modality.EVENT: ("cnn2d", {"in_channels": 2}),
        Modality.VIDEO: ("frames", {"in_channels": 1}),
        Modality.AUDIO: ("spectrum", {}),
        Modality.POINT: ("pointnet", {}),
    }
)


def build_stem(modality: str, width: int) -> nn.Module:
    if modality not in DEMO_STEMS:
        raise KeyError(f"the demo backbone has no encoder for modality {modality!r}; known: {sorted(DEMO_STEMS)}")
    stem, kwargs = DEMO_STEMS[modality]
    return STEMS[stem](width=width, **kwargs)
