"""Options of the alignment strategies, as one nested group of the pipeline settings."""

from __future__ import annotations

from dataclasses import dataclass

from unibind_core.core.options import option

INPUT_DTYPES = ("auto", "float32", "float16")


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
    exmcr_max_pairs: int | None = option(
        131_072,
        "exmcr: pseudo-pairs start from a seeded subset of at most this "
        "many samples + texts (in proportion); None: every one (the paper)",
    )
    exmcr_pool: int | None = option(
        32_768,
        "exmcr: each retrieval pool (texts, samples) is a seeded subset of at "
        "most this many rows; None: all (exact all-pairs, O(N x (N + R)) products)",
    )
    input_dtype: str = option(
        "auto",
        "precision the head's training inputs (features, captions, descriptions) are "
        "held in: float32, float16 (half the memory, each batch computed in float32), or "
        "auto: float16 when in float32 they would pass input_float32_gib",
    )
    input_float32_gib: float = option(4.0, "auto input_dtype: the float32 size above which inputs are held in float16")

    def __post_init__(self) -> None:
        if self.input_dtype not in INPUT_DTYPES:
            raise ValueError(f"alignment.input_dtype must be one of {sorted(INPUT_DTYPES)}, got {self.input_dtype!r}")
        for name in ("exmcr_max_pairs", "exmcr_pool"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"alignment.{name} must be at least 1 or None, got {getattr(self, name)}")
