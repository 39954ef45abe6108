"""Which backbone embeds a modality, loaded once per process, and the text tower of its space.

Every registry entry (BACKBONES) offers the same classmethods: `from_choice(choice, s)` loads it,
`backbone_id(choice, s)` and `space_of(choice, s)` name it and its embedding space without loading,
`options_record(s)` lists the other options its vectors depend on, `loader_options(s, modality)` the loader
options its preprocessing needs beyond a benchmark's own, and `text_tower(choice, s, load)` gives the
TextEncoder of its space. A benchmark's texts are embedded by the text tower of the backbone that
embeds its data, so data and text are one space by construction.
"""

from __future__ import annotations

from typing import Any

from unibind_core.core.errors import ConfigError
from unibind_core.encoders.backbone import BACKBONES, Backbone
from unibind_core.encoders.backbone.base import BackboneChoice
from unibind_core.encoders.text import TextEncoder

_LOADED: dict[tuple, Any] = {}


def backbone_choice(s: Any, modality: str | None = None) -> BackboneChoice:
    """The configured backbone, or the modality's entry of `backbone_per_modality` (which replaces it)."""
    over = s.backbone_overrides().get(modality, {}) if modality else {}
    if not over:
        return BackboneChoice(BACKBONES.require(s.backbone), s.backbone_model, s.backbone_weights)
    return BackboneChoice(BACKBONES.require(over["backbone"]), over.get("model"), over.get("weights"))


def backbone_id(s: Any, modality: str | None = None) -> str:
    choice = backbone_choice(s, modality)
    return BACKBONES[choice.name].backbone_id(choice, s)


def space_id(s: Any, modality: str | None = None) -> str:
    """The embedding space of the modality's vectors: stamped on features and text embeddings alike."""
    choice = backbone_choice(s, modality)
    return BACKBONES[choice.name].space_of(choice, s)


def features_key_parts(s: Any, modality: str) -> tuple[str, str]:
    """(backbone id, options record) the frozen features of `modality` depend on besides the inputs."""
    choice = backbone_choice(s, modality)
    return BACKBONES[choice.name].backbone_id(choice, s), BACKBONES[choice.name].options_record(s)


def loader_options(s: Any, modality: str) -> dict[str, Any]:
    """Loader options the modality's backbone needs beyond a benchmark's own ({} for the default views)."""
    choice = backbone_choice(s, modality)
    return BACKBONES[choice.name].loader_options(s, modality)


def load_backbone(s: Any, modality: str | None = None) -> Backbone:
    """The modality's backbone, loaded once per process per (id, device, dtype, batch size, views)."""
    choice = backbone_choice(s, modality)
    cls = BACKBONES[choice.name]
    key = (choice, cls.backbone_id(choice, s), s.device, s.dtype, s.batch_size, s.views)
    if key in _LOADED:
        backbone = _LOADED[key] = _LOADED.pop(key)  # most recently used last: eviction takes the least
    else:
        if len(_LOADED) >= 4:  # models are large: keep the few last used
            _LOADED.pop(next(iter(_LOADED)))
        backbone = _LOADED[key] = cls.from_choice(choice, s)
    if modality is not None and modality not in backbone.modalities:
        raise ConfigError(
            f"backbone {choice.name!r} does not embed {modality} (it embeds "
            f"{', '.join(sorted(backbone.modalities))}); choose another in backbone_per_modality"
        )
    return backbone


def text_tower(s: Any, modality: str | None = None) -> TextEncoder:
    """The TextEncoder of the space the modality's backbone embeds into."""
    choice = backbone_choice(s, modality)
    return BACKBONES[choice.name].text_tower(choice, s, lambda: load_backbone(s, modality))
