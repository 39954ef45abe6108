"""languagebind backbone: LanguageBind (image, video, audio, thermal and depth encoders aligned to one language
encoder) in the `languagebind` environment (`make env-languagebind`: languagebind 0.1.0 runs on transformers
4.45.2, not ours).

`backbone_model`: a local folder with one `from_pretrained` subfolder per modality (image/, video/, audio/,
thermal/, depth/), or a hub organisation (default `LanguageBind`, whose checkpoints LanguageBind_Image,
LanguageBind_Video_FT, LanguageBind_Audio_FT, LanguageBind_Thermal and LanguageBind_Depth are used);
`backbone_weights`: an optional download cache folder. Texts go through the image model's text tower; events
as our event image, point clouds as our rendered depth views.
"""

from __future__ import annotations

from typing import Any, ClassVar

from unibind_core.core.modality import Modality
from unibind_core.encoders.backbone.base import BackboneChoice, backbone_id
from unibind_core.encoders.backbone.external import ExternalBackbone


class LanguageBindBackbone(ExternalBackbone):
    family, env, script, default_model = "languagebind", "languagebind", "languagebind_embed.py", "LanguageBind"
    kinds: ClassVar[dict[str, str]] = {
        Modality.IMAGE: "image",
        Modality.EVENT: "image",
        Modality.VIDEO: "video",
        Modality.AUDIO: "audio",
        Modality.THERMAL: "thermal",
        Modality.POINT: "depth",
    }
    known_dims: ClassVar[dict[str, int]] = {"LanguageBind": 768}

    @classmethod
    def identify(cls, choice: BackboneChoice) -> str:
        return backbone_id("languagebind", choice.model or cls.default_model, choice.model)

    def model_options(self) -> dict[str, Any]:
        return {"model": self.model, "cache_dir": self.weights}
