"""Fold protocols (docs/method.md §5): the official cross-validation folds of the benchmarks that have them.

A benchmark whose reader is in FOLD_PROTOCOLS gets, beside its fixed split, one fine-tuning run per
official fold: that fold is the test split, the fold before it (cyclically) the eval split, the rest
train (fold 5 of ESC-50 gives the fixed split test 5 / eval 4 / train 1-3). Folds are read from the
dataset's own metadata table, keyed by sample_id (the file stem, as the readers name samples).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unibind_core.core.registry import Registry
from unibind_core.data.benchmarks.readers.common import find_root


@dataclass(frozen=True)
class FoldProtocol:
    meta: str  # metadata CSV, relative to the dataset root (or the archive folder inside it)
    file_column: str  # file name column: its stem is the sample_id
    fold_column: str = "fold"

    def folds(self, root: Path) -> dict[str, int]:
        """{sample_id: official fold} from the metadata table under `root`."""
        prefix = find_root(Path(root), lambda p: (p / self.meta).is_file(), "the fold metadata table", self.meta)
        with open(Path(root) / prefix / self.meta, newline="", encoding="utf-8") as f:
            return {Path(r[self.file_column]).stem: int(r[self.fold_column]) for r in csv.DictReader(f)}


@dataclass(frozen=True)
class FoldRun:
    """One run of a cross-validation: which folds are test, eval and train."""

    fold: int  # the test fold
    eval_fold: int
    train_folds: tuple[int, ...]

    @property
    def definition(self) -> str:
        return (
            f"train folds {','.join(map(str, self.train_folds))} | eval fold {self.eval_fold} | test fold {self.fold}"
        )

    def masks(self, fold_of: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(N,) official fold of each sample -> boolean (N,) train, eval, test masks."""
        test, ev = fold_of == self.fold, fold_of == self.eval_fold
        return ~(test | ev), ev, test


def fold_runs(folds: list[int]) -> list[FoldRun]:
    """One run per fold: test it, choose checkpoints on the fold before it (cyclically), train on the rest."""
    folds = sorted(set(folds))
    if len(folds) < 3:
        raise ValueError(f"cross-validation needs at least 3 folds (train, eval, test), found {folds}")
    return [
        FoldRun(f, folds[i - 1], tuple(g for g in folds if g not in (f, folds[i - 1]))) for i, f in enumerate(folds)
    ]


def sample_folds(protocol: FoldProtocol, root: Path, sample_ids: list[str], what: str) -> np.ndarray:
    """(N,) official fold of each of `sample_ids`; an error names a sample the metadata does not hold."""
    by_id = protocol.folds(root)
    missing = [i for i in sample_ids if i not in by_id]
    if missing:
        raise ValueError(f"{what}: {len(missing)} samples have no fold in {protocol.meta} (first {missing[0]!r})")
    return np.array([by_id[i] for i in sample_ids], dtype=np.int64)


# By reader name: every benchmark in a format with official folds (the demo's ESC-50 copy included).
FOLD_PROTOCOLS: Registry[FoldProtocol] = Registry(
    "fold protocol",
    {
        "esc50": FoldProtocol("meta/esc50.csv", "filename"),
        "urbansound8k": FoldProtocol("metadata/UrbanSound8K.csv", "slice_file_name"),
    },
)


def cross_validated(s, spec) -> bool:
    """Whether the benchmark of `spec` runs its official folds under settings `s` (captions then cover
    every sample, and the head and evaluation stages add one run per fold)."""
    return bool(s.alignment.cross_validation) and spec.reader in FOLD_PROTOCOLS
