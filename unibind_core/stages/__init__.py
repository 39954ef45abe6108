"""One function per pipeline stage: what a Dagster asset calls, callable from plain Python.

Each stage reads its inputs from the data root (Layout), writes its output atomically, and returns a
StageResult: the data version (content hash of the output), plain metadata, and check outcomes.
Expensive stages stamp their outputs with a key of their inputs and skip work when it is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from unibind_core.evaluation.checks import CheckOutcome


@dataclass(frozen=True)
class StageResult:
    data_version: str
    metadata: dict = field(default_factory=dict)
    checks: dict[str, CheckOutcome] = field(default_factory=dict)
    reused: bool = False  # True when the inputs were unchanged and the stored output was kept
    metrics: dict[str, float] = field(default_factory=dict)  # numbers to plot across partitions and runs
    row_count: int | None = None  # rows of the table the stage wrote (None: not a table)
