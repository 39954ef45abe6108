"""Benchmark partitions, keyed from the benchmark registry through the active profile."""
from __future__ import annotations

import os

import dagster as dg

from unibind_core.benchmarks.spec import profile_benchmarks

PROFILE = os.environ.get("UNIBIND_PROFILE", "demo")
BENCHMARK_PARTITIONS = dg.StaticPartitionsDefinition(list(profile_benchmarks(PROFILE)))
