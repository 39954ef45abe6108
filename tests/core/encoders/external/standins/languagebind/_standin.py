"""Stand-in languagebind models: per-modality classes loaded from local folders (a config.json each); shapes
asserted."""

import json
from pathlib import Path
from types import SimpleNamespace

import torch
from torch import nn

DIM = 12


class _Model(nn.Module):
    modality = "image"

    def __init__(self, config):
        super().__init__()
        self.config = config
        g = torch.Generator().manual_seed(int(config.vision_config.seed))
        self.proj = nn.Parameter(torch.randn(3 * 16, DIM, generator=g))
        self.text_proj = nn.Parameter(torch.randn(77, DIM, generator=torch.Generator().manual_seed(99)))

    @classmethod
    def from_pretrained(cls, path, cache_dir=None):
        folder = Path(path)
        assert folder.is_dir(), f"the stand-in loads local folders only, got {path}"
        raw = json.loads((folder / "config.json").read_text())
        assert raw["modality"] == cls.modality, (raw, cls.modality)
        return cls(SimpleNamespace(vision_config=SimpleNamespace(**raw["vision_config"])))

    def get_image_features(self, pixel_values):
        x = pixel_values
        if self.modality == "video":
            assert x.shape[1:] == (3, self.config.vision_config.num_frames, 224, 224), x.shape
            x = x.mean(2)
        elif self.modality == "audio":
            vc = self.config.vision_config
            assert x.shape[1:] == (3, vc.num_mel_bins, vc.target_length), x.shape
        else:
            assert x.shape[1:] == (3, 224, 224), x.shape
        return nn.functional.adaptive_avg_pool2d(x, 4).flatten(1) @ self.proj

    def get_text_features(self, input_ids, attention_mask):
        assert input_ids.shape[1] == 77 and attention_mask.shape == input_ids.shape
        return (input_ids * attention_mask).float() @ self.text_proj


class LanguageBindImage(_Model):
    modality = "image"


class LanguageBindVideo(_Model):
    modality = "video"


class LanguageBindAudio(_Model):
    modality = "audio"


class LanguageBindThermal(_Model):
    modality = "thermal"


class LanguageBindDepth(_Model):
    modality = "depth"


class LanguageBindImageTokenizer:
    @classmethod
    def from_pretrained(cls, path, cache_dir=None):
        assert (Path(path) / "config.json").is_file()
        return cls()

    def __call__(self, texts, max_length, padding, truncation, return_tensors):
        ids = torch.tensor(
            [[min(255, ord(c)) for c in t[:max_length]] + [0] * (max_length - len(t[:max_length])) for t in texts]
        )
        return {"input_ids": ids, "attention_mask": (ids > 0).long()}


def get_image_transform(config):
    """processing_image.get_image_transform's list (ToTensor first, as the script expects)."""
    from torchvision import transforms

    return transforms.Compose(
        [
            transforms.ToTensor(),
            transforms.Resize(224, interpolation=transforms.InterpolationMode.BICUBIC),
            transforms.CenterCrop(224),
            transforms.Normalize((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
        ]
    )
