"""A benchmark's paired modality for the heads: each sample's partner in the paired benchmark's frozen features.

Two benchmarks are a pair when one's spec names the other as `paired_benchmark` (Caltech-101 <->
N-Caltech101, the demo's image <-> event); the manifests say which sample was made from which
(retrieval.manifest_pairs: `paired_path` ~ `path`). Each side of a pair gets the other as partner, so
CentroBind's anchor of an event recording includes its image, and an image's includes its recording.
[ours] A partner benchmark whose features do not exist yet (its data_embeddings not materialized: a loop
that reaches Caltech-101 before N-Caltech101) is left out, not waited for: the head trains with the members
it has, says so (`missing`, the head's `partners_missing` metadata), and its inputs key names the absence, so
the partner's features, once written, make the head stale (docs/architecture.md, "Partitions that read
each other"). A partner in its benchmark's test split is never joined: training must not read the features of
a sample that is scored later (the readers put a pair in one split, so this drops nothing there). A sample
with several partners gets their normalized mean; one without gets a NaN row (AlignData.paired).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from unibind_core.core.errors import ConfigError
from unibind_core.core.settings import Settings
from unibind_core.data.benchmarks.spec import partners_of, profile_benchmarks
from unibind_core.evaluation.retrieval import manifest_pairs
from unibind_core.method.centres import normalize
from unibind_core.stages.common import manifest_column, read_manifest, spec_of
from unibind_core.storage.io import SPACE_KEY
from unibind_core.storage.tables import FEATURES, Split


@dataclass(frozen=True)
class PartnerFeatures:
    """Per sample of one benchmark (manifest order), the mean of its partners' frozen features."""

    benchmarks: tuple[str, ...]  # the partner benchmarks joined
    paths: tuple[Path, ...]  # their feature tables (part of the heads' inputs key)
    index: dict[str, int]  # sample_id -> row of `vectors`
    vectors: np.ndarray  # (N, D) unit vectors; NaN rows for samples without a partner
    missing: tuple[str, ...] = ()  # partner benchmarks without features yet: left out of the anchor

    def lookup(self, sample_ids: Sequence[str]) -> np.ndarray:
        """(len(sample_ids), D) partner vectors of those samples, NaN rows where there is none."""
        return self.vectors[[self.index[i] for i in sample_ids]]


def _require_same_space(s: Settings, bench: str, partner: str) -> None:
    mine, theirs = s.layout.features(bench), s.layout.features(partner)
    spaces = FEATURES.stamp(mine, SPACE_KEY), FEATURES.stamp(theirs, SPACE_KEY)
    if FEATURES.dim(mine) != FEATURES.dim(theirs) or (all(spaces) and spaces[0] != spaces[1]):
        raise ConfigError(
            f"{bench}: its paired benchmark {partner} is embedded in another space ({spaces[1]!r}, "
            f"{FEATURES.dim(theirs)} dimensions; {bench}: {spaces[0]!r}, {FEATURES.dim(mine)}), so "
            "its features cannot be a member of the centroid anchor; embed both with one backbone or "
            "set alignment.centroid_paired_weight to 0"
        )


def partner_features(s: Settings, bench: str, benches: Sequence[str] | None = None) -> PartnerFeatures | None:
    """The partners of every sample of `bench` among `benches` (default: the profile's), or None if it has
    no paired benchmark there. A partner's features, where they exist, must be in the same space; a partner
    without features is listed in `missing` (NaN rows for its samples' partners)."""
    partners = partners_of(bench, profile_benchmarks(s.profile) if benches is None else benches)
    if not partners:
        return None
    own = read_manifest(s, bench).select(["sample_id", "path", "paired_path"]).to_pylist()
    index = {r["sample_id"]: i for i, r in enumerate(own)}
    sums, counts, paths, missing = None, np.zeros(len(own), np.int64), [], []
    for partner in partners:
        if not s.layout.features(partner).is_file():
            missing.append(partner)
            continue
        path = FEATURES.require(s.layout.features(partner))
        _require_same_space(s, bench, partner)
        rows, x = FEATURES.read_vectors(path, ("sample_id",), pc.field("split") != str(Split.TEST))
        ids = rows["sample_id"].to_pylist()
        pairs = np.zeros((0, 2), np.int64)
        if spec_of(bench).paired_benchmark == partner:  # our samples name theirs
            pairs = manifest_pairs([r["paired_path"] for r in own], manifest_column(s, partner, "path", ids))
        if spec_of(partner).paired_benchmark == bench:  # theirs name ours
            theirs = manifest_pairs(manifest_column(s, partner, "paired_path", ids), [r["path"] for r in own])
            pairs = np.unique(np.concatenate([pairs, theirs[:, ::-1]]), axis=0)
        sums = np.zeros((len(own), x.shape[1]), np.float64) if sums is None else sums
        np.add.at(sums, pairs[:, 0], x[pairs[:, 1]])
        np.add.at(counts, pairs[:, 0], 1)
        paths.append(path)
    if sums is None:  # no partner has features yet
        sums = np.zeros((len(own), FEATURES.dim(s.layout.features(bench))), np.float64)
    vectors = np.full(sums.shape, np.nan, np.float32)
    vectors[counts > 0] = normalize(sums[counts > 0].astype(np.float32))
    joined = tuple(p for p in partners if p not in missing)
    return PartnerFeatures(joined, tuple(paths), index, vectors, tuple(missing))


def with_partner(paired: np.ndarray | None) -> int:
    """How many rows of an (N, D) AlignData.paired have a partner (0 for None)."""
    return 0 if paired is None else int((~np.isnan(paired).any(1)).sum())
