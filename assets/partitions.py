"""Benchmark partitions of the code location's profile: the one value every asset reads.

The profile is chosen once, when the code location loads (`UNIBIND_PROFILE`, the `Settings.profile`
option's environment variable; default `demo`): it decides the partitions, and the resource hands the
same value to every stage, so the two cannot disagree.
"""

from __future__ import annotations

import dagster as dg

from unibind_core.core.options import default_of
from unibind_core.core.settings import Settings
from unibind_core.data.benchmarks.spec import partners_of, profile_benchmarks

PROFILE: str = default_of(Settings, "profile")
DEMO_PROFILE: bool = PROFILE == "demo"  # the demo world and its pre-trained encoders exist only there
BENCHMARKS: tuple[str, ...] = profile_benchmarks(PROFILE)
BENCHMARK_PARTITIONS = dg.StaticPartitionsDefinition(list(BENCHMARKS))

# A head partition reads its benchmark's features and, for CentroBind's paired member, those of the benchmarks
# paired with it (unibind_core/stages/partners.py): each data_embeddings partition maps to its own aligned_heads
# partition and to its partners' (Caltech-101 <-> N-Caltech101, demo_image <-> demo_event), so a change of a
# partner's features requests the heads that read them.
WITH_PARTNERS = dg.StaticPartitionMapping({b: (b, *partners_of(b, BENCHMARKS)) for b in BENCHMARKS})
