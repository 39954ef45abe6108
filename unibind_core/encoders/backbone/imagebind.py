"""imagebind backbone: Meta's ImageBind (one space for images, video, audio, depth, thermal and text) in the
`imagebind` environment (`make env-imagebind`; only unofficial packages exist, with pins of their own).

`backbone_model`: `imagebind_huge` (the default: the package's constructor) or a JSON file of ImageBindModel
keyword arguments; `backbone_weights`: the checkpoint file (.pth state dict); unset, the package downloads
imagebind_huge.pth into `<data_root>/cache/external/imagebind-weights`. Events go in as our event image
(vision), point clouds as our rendered depth views (depth); the script does ImageBind's own preprocessing.
"""

from __future__ import annotations

from typing import Any, ClassVar

from unibind_core.core.modality import Modality
from unibind_core.encoders.backbone.base import BackboneChoice, backbone_id
from unibind_core.encoders.backbone.external import ExternalBackbone


class ImageBindBackbone(ExternalBackbone):
    family, env, script, default_model = "imagebind", "imagebind", "imagebind_embed.py", "imagebind_huge"
    kinds: ClassVar[dict[str, str]] = {
        Modality.IMAGE: "vision",
        Modality.EVENT: "vision",
        Modality.VIDEO: "video",
        Modality.AUDIO: "audio",
        Modality.THERMAL: "thermal",
        Modality.POINT: "depth",
    }
    known_dims: ClassVar[dict[str, int]] = {"imagebind_huge": 1024}

    @classmethod
    def identify(cls, choice: BackboneChoice) -> str:
        return backbone_id("imagebind", choice.model or cls.default_model, choice.weights or choice.model)

    def model_options(self) -> dict[str, Any]:
        return {**super().model_options(), "cache_dir": str(self.work_root / "imagebind-weights"), "clips": 4}
