"""Sounds: the 16 kHz waveform for models that take audio, else a log-mel spectrogram image."""

from __future__ import annotations

import torch

from unibind_core.core.modality import Modality
from unibind_core.data.modalities import load_sample
from unibind_core.knowledge.captioners.base import CaptionJob
from unibind_core.knowledge.captioners.views import (
    Identity,
    ViewContext,
    Viewed,
    source_hash,
    to_pil,
)

SAMPLE_RATE = 16000  # what audio LMs (Qwen2-Audio's Whisper encoder) and OpenAI audio input expect
MELS = 64


def _seconds(job: CaptionJob) -> float:
    o = job.spec.loader_options
    return float(o.get("num_samples", 80000)) / float(o.get("sample_rate", SAMPLE_RATE))


def waveform(row: dict, job: CaptionJob) -> torch.Tensor:
    return load_sample(
        Modality.AUDIO, job.root, row, sample_rate=SAMPLE_RATE, num_samples=int(_seconds(job) * SAMPLE_RATE)
    )


def mel_filters(n_fft: int, mels: int, sr: int) -> torch.Tensor:
    """(mels, n_fft // 2 + 1) triangular filters evenly spaced on the mel scale."""

    def mel(f: torch.Tensor) -> torch.Tensor:
        return 2595 * torch.log10(1 + f / 700)

    def hz(m: torch.Tensor) -> torch.Tensor:
        return 700 * (10 ** (m / 2595) - 1)

    points = hz(torch.linspace(0, float(mel(torch.tensor(sr / 2))), mels + 2))
    freqs = torch.linspace(0, sr / 2, n_fft // 2 + 1)
    low, mid, high = points[:-2, None], points[1:-1, None], points[2:, None]
    return torch.clamp(torch.minimum((freqs - low) / (mid - low), (high - freqs) / (high - mid)), min=0)


def spectrogram_image(wave: torch.Tensor, size: int) -> torch.Tensor:
    """(L,) -> (3, size, size) in [0, 1]: log-mel power over 80 dB, low frequencies at the bottom."""
    spec = torch.stft(wave, 512, 160, window=torch.hann_window(512), return_complex=True).abs() ** 2
    db = 10 * torch.log10(mel_filters(512, MELS, SAMPLE_RATE) @ spec + 1e-10)  # (mels, frames)
    img = ((db - db.max() + 80) / 80).clamp(0, 1).flip(0)
    img = torch.nn.functional.interpolate(img[None, None], size=(size, size), mode="bilinear", align_corners=False)
    return img[0].expand(3, -1, -1)


class WaveformView:
    def identify(self, row: dict, job: CaptionJob, ctx: ViewContext) -> Identity:
        return Identity(source_hash(job.root, row), f"waveform:{SAMPLE_RATE}:{_seconds(job)}", job.noun)

    def render(self, row: dict, job: CaptionJob, ctx: ViewContext) -> Viewed:
        return Viewed(audio=waveform(row, job).numpy(), sample_rate=SAMPLE_RATE)


class SpectrogramView:
    def identify(self, row: dict, job: CaptionJob, ctx: ViewContext) -> Identity:
        size = ctx.caption.render_size
        return Identity(source_hash(job.root, row), f"spectrogram:{SAMPLE_RATE}:{_seconds(job)}:{size}", job.noun)

    def render(self, row: dict, job: CaptionJob, ctx: ViewContext) -> Viewed:
        return Viewed(images=(to_pil(spectrogram_image(waveform(row, job), ctx.caption.render_size)),))


class AutoSoundView:
    """The waveform to a model that takes audio, else the spectrogram image."""

    def _pick(self, ctx: ViewContext) -> WaveformView | SpectrogramView:
        return WaveformView() if ctx.accepts_audio else SpectrogramView()

    def identify(self, row: dict, job: CaptionJob, ctx: ViewContext) -> Identity:
        return self._pick(ctx).identify(row, job, ctx)

    def render(self, row: dict, job: CaptionJob, ctx: ViewContext) -> Viewed:
        return self._pick(ctx).render(row, job, ctx)
