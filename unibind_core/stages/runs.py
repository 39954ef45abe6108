"""Which heads a benchmark trains and where they live: one per aligner on the fixed split and, for a
benchmark with official folds (protocols.FOLD_PROTOCOLS), one per aligner and fold (docs/method.md §5).

Heads, evaluation and retrieval all enumerate runs here, so they agree on the runs and their paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from unibind_core.core.settings import Settings
from unibind_core.data.benchmarks.build import dataset_root
from unibind_core.method.protocols import (
    FOLD_PROTOCOLS,
    FoldProtocol,
    FoldRun,
    cross_validated,
    fold_runs,
    sample_folds,
)
from unibind_core.stages.common import spec_of
from unibind_core.storage.tables import FEATURES, SplitProtocol


@dataclass(frozen=True)
class HeadRun:
    """One trained head: an aligner on the fixed split, or on one fold of a cross-validation."""

    aligner: str
    protocol: SplitProtocol = SplitProtocol.FIXED
    fold: FoldRun | None = None

    def path(self, s: Settings, bench: str) -> Path:
        """The primary aligner's fixed head is heads/<bench>.safetensors (what retrieval reads); others beside it."""
        if self.fold is None and self.aligner == s.aligner:
            return s.layout.head(bench)
        tail = "" if self.fold is None else f".fold{self.fold.fold}"
        return s.layout.head(bench).with_name(f"{bench}.{self.aligner}{tail}.safetensors")

    @property
    def label(self) -> str:
        return self.aligner if self.fold is None else f"{self.aligner} fold {self.fold.fold}"


def fold_protocol(s: Settings, bench: str) -> tuple[FoldProtocol, list[FoldRun]] | None:
    """The benchmark's official folds (FOLD_PROTOCOLS by reader) when cross-validation is on, else None."""
    spec = spec_of(bench)
    if not cross_validated(s, spec):
        return None
    protocol = FOLD_PROTOCOLS[spec.reader]
    return protocol, fold_runs(list(protocol.folds(dataset_root(spec, s.layout.datasets)).values()))


def head_runs(s: Settings, bench: str) -> list[HeadRun]:
    runs = [HeadRun(name) for name in s.aligner_names()]
    cv = fold_protocol(s, bench)
    if cv is not None:
        runs += [HeadRun(name, SplitProtocol.CROSS_VALIDATION, f) for f in cv[1] for name in s.aligner_names()]
    return runs


def all_features(s: Settings, bench: str) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """Every sample's (sample_id, class_index) rows, (N, D) features and (N,) official fold."""
    rows, x = FEATURES.read_vectors(s.layout.features(bench), ("sample_id", "class_index"))
    protocol, _ = fold_protocol(s, bench)
    folds = sample_folds(
        protocol, dataset_root(spec_of(bench), s.layout.datasets), rows["sample_id"].to_pylist(), bench
    )
    return rows, x, folds
