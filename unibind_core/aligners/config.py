"""Options of the alignment strategies, as one nested group of the pipeline settings."""
from __future__ import annotations

from dataclasses import dataclass

from unibind_core.options import option


@dataclass(frozen=True)
class AlignmentConfig:
    eval_every: int | None = option(None, "evaluate on the eval split every N optimizer steps (None: every epoch)")
    cross_validation: bool = option(True, "also run the official folds of benchmarks that have them (FOLD_PROTOCOLS)")
    symmetric: bool = option(False, "lcl: add the text -> data direction to the loss")
    centre_weight: float = option(0.0, "lcl: weight of the centre cross-entropy (pull towards the class's centres)")
    detach_anchor: bool = option(True, "centrobind: the centroid anchor carries no gradient")
    centroid_data_weight: float = option(1.0, "centrobind: weight of the projected data in the anchor and loss")
    centroid_caption_weight: float = option(1.0, "centrobind: weight of the sample's caption")
    centroid_centre_weight: float = option(1.0, "centrobind: weight of the class's centres (their mean)")
    centroid_paired_weight: float = option(1.0, "centrobind: weight of the paired modality's features")
    exmcr_top_k: int = option(8, "exmcr: neighbours retrieved per query when building pseudo-pairs")
