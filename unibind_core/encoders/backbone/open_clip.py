"""open_clip backbone: any open_clip architecture; images, video frames, event frames, thermal images and
point-cloud depth views through its image tower (views.py), texts through its own tokenizer and text tower.

Weights (`backbone_weights`) may be an open_clip pretrained tag (`laion2b_s34b_b79k`), a local checkpoint
file (.pt/.bin/.safetensors state dict), or a local folder in the hub layout (open_clip_config.json + weights,
loaded as `local-dir:`); the model (`backbone_model`) is an architecture name (`ViT-B-32`) or an
`hf-hub:org/repo` / `local-dir:/path` id, which carries its own weights.
"""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from unibind_core.core.errors import ConfigError
from unibind_core.encoders.backbone.base import (
    DECODED_AT_NATIVE_SIZE,
    LIBRARY_PREPROCESS,
    BackboneChoice,
    ImageTextBackbone,
    OwnTextTower,
    backbone_id,
)
from unibind_core.encoders.backbone.views import ViewConfig

_SCHEMAS = ("hf-hub:", "local-dir:")


def resolve(model: str | None, weights: str | None) -> tuple[str, str | None]:
    """(open_clip model name, `pretrained` argument) from the configured model and weights."""
    if weights and Path(weights).expanduser().is_dir():
        return f"local-dir:{Path(weights).expanduser()}", None
    if not model:
        raise ConfigError(
            "backbone open_clip needs backbone_model (an architecture such as ViT-B-32, or an "
            "hf-hub:/local-dir: id), or backbone_weights pointing at a local model folder"
        )
    if model.startswith(_SCHEMAS):
        if weights:
            raise ConfigError(
                f"backbone_model {model!r} carries its own weights; leave backbone_weights unset (got {weights!r})"
            )
        return model, None
    if not weights:
        raise ConfigError(
            f"backbone open_clip model {model!r} needs backbone_weights: a pretrained tag "
            "(open_clip.list_pretrained()), a checkpoint file or a model folder"
        )
    return model, str(Path(weights).expanduser()) if Path(weights).expanduser().is_file() else weights


class OpenClipBackbone(OwnTextTower, ImageTextBackbone):
    """A frozen open_clip model; images through the model's own evaluation `preprocess` (built from its
    `preprocess_cfg` as `create_model_and_transforms` builds it: resize mode, interpolation, crop,
    mean/std, including those of hub and local-dir configs); the text side keeps the end token when a text
    is cut to the context."""

    decoded_options = DECODED_AT_NATIVE_SIZE
    input_step = LIBRARY_PREPROCESS

    def __init__(
        self,
        model: str | None,
        weights: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 256,
        views: ViewConfig | None = None,
    ) -> None:
        import open_clip
        from open_clip.transform import PreprocessCfg, image_transform_v2

        super().__init__(device, dtype, batch_size, views or ViewConfig())
        name, pretrained = resolve(model, weights)
        self.id = self.identify(BackboneChoice("open_clip", model, weights))
        self.model = open_clip.create_model(
            name, pretrained=pretrained, device=self.device, require_pretrained=True
        ).eval()
        self.model.to(dtype=self.dtype)
        self.tokenizer = open_clip.get_tokenizer(name)
        cfg = open_clip.get_model_preprocess_cfg(self.model)
        self.transform = image_transform_v2(PreprocessCfg(**self.model.visual.preprocess_cfg), is_train=False)
        size = cfg["size"]
        self.image_size = int(size if isinstance(size, int) else size[0])
        self.mean, self.std = tuple(cfg["mean"]), tuple(cfg["std"])
        self.context_length = int(getattr(self.model, "context_length", 77) or 77)
        with torch.inference_mode():
            probe = self.model.encode_text(self.tokenizer(["a"]).to(self.device))
        self.dim = int(probe.shape[-1])

    @classmethod
    def identify(cls, choice: BackboneChoice) -> str:
        name, _ = resolve(choice.model, choice.weights)
        return backbone_id("open_clip", name, choice.weights or name.removeprefix("local-dir:"))

    def tokenize(self, texts: list[str]) -> torch.Tensor:
        """(B,) texts -> (B, context_length) token ids; a long text is cut and its last id set to the end
        token (open_clip's tokenizer does so), so the text tower still pools at the end token."""
        return self.tokenizer(texts, context_length=self.context_length)

    def model_inputs(self, images: list[Image.Image]) -> torch.Tensor:
        """N RGB images -> (N, 3, S, S) through the model's own preprocess."""
        return torch.stack([self.transform(image) for image in images])

    def _image_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.encode_image(x)

    def _text_features(self, texts: list[str]) -> torch.Tensor:
        return self.model.encode_text(self.tokenize(texts).to(self.device))
