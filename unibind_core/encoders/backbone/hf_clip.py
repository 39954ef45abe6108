"""hf_clip backbone: a transformers CLIPModel + CLIPProcessor from a hub id or a local folder, with the
same modality views as open_clip (views.py) through its image tower and texts through its own tokenizer.

`backbone_model` is the hub id (`openai/clip-vit-large-patch14`) or a folder written by `save_pretrained`;
`backbone_weights`, if set, is the hub revision (a commit or tag) to load.
"""

from __future__ import annotations

from typing import Any

import torch
from PIL import Image

from unibind_core.encoders.backbone.base import (
    DECODED_AT_NATIVE_SIZE,
    LIBRARY_PREPROCESS,
    BackboneChoice,
    HubModel,
    ImageTextBackbone,
)
from unibind_core.encoders.backbone.views import ViewConfig


def unwrap(out: Any) -> torch.Tensor:
    """transformers 5 returns an output object from get_image_features/get_text_features (the projected
    embeddings in `pooler_output`); 4.x returned the tensor itself."""
    if isinstance(out, torch.Tensor):
        return out
    for name in ("pooler_output", "image_embeds", "text_embeds"):
        value = getattr(out, name, None)
        if isinstance(value, torch.Tensor):
            return value
    raise TypeError(f"cannot find the embeddings in a {type(out).__name__}")


class HfClipBackbone(HubModel, ImageTextBackbone):
    """A frozen transformers CLIP model; images through its saved image processor (shortest-edge resize,
    centre crop, rescale, normalize, as configured); texts cut to its context keep their end token."""

    family = "hf_clip"
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
        from transformers import CLIPModel, CLIPProcessor

        self.id = self.identify(BackboneChoice(self.family, model, weights))  # refuses a missing model
        super().__init__(device, dtype, batch_size, views or ViewConfig())
        revision = {"revision": weights} if weights else {}
        self.model = CLIPModel.from_pretrained(model, dtype=self.dtype, **revision).to(self.device).eval()
        self.processor = CLIPProcessor.from_pretrained(model, **revision)
        images = self.processor.image_processor
        crop = getattr(images, "crop_size", None) or {}
        height = crop.get("height") if isinstance(crop, dict) else getattr(crop, "height", None)
        self.image_size = int(height or self.model.config.vision_config.image_size)
        self.mean, self.std = tuple(images.image_mean), tuple(images.image_std)
        self.max_length = int(self.model.config.text_config.max_position_embeddings)
        self.dim = int(self.model.config.projection_dim)

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """(B,) texts -> input_ids/attention_mask (B, T <= max_length); the tokenizer adds the end token
        after truncating, so the text tower pools at it."""
        return self.processor.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )

    def model_inputs(self, images: list[Image.Image]) -> torch.Tensor:
        """N RGB images -> (N, 3, S, S) pixel_values from the saved image processor."""
        return self.processor.image_processor(images=images, return_tensors="pt")["pixel_values"].float()

    def _image_features(self, x: torch.Tensor) -> torch.Tensor:
        return unwrap(self.model.get_image_features(pixel_values=x))

    def _text_features(self, texts: list[str]) -> torch.Tensor:
        tokens = {k: v.to(self.device) for k, v in self.tokenize(texts).items()}
        return unwrap(self.model.get_text_features(**tokens))
