"""Pure validators behind the Dagster asset checks: each returns (passed, description, metadata)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from unibind_core.knowledge.kb import MAX_CLIP_BPE_TOKENS, clip_token_count, is_category_row
from unibind_core.storage.table_contract import TableContract


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    description: str
    metadata: dict = field(default_factory=dict)


def check_kb(kb: pa.Table, class_keys: Sequence[str]) -> CheckOutcome:
    """Unique IDs, no empty or over-long descriptions, every category described."""
    problems, meta = [], {}
    dup = kb.num_rows - pc.count_distinct(kb["ID"]).as_py()
    if dup:
        problems.append(f"{dup} duplicated IDs")
    texts = kb["Description"].to_pylist()
    empty = sum(1 for t in texts if not t or not t.strip())
    if empty:
        problems.append(f"{empty} empty descriptions")
    too_long = [t for t in texts if t and clip_token_count(t) > MAX_CLIP_BPE_TOKENS]
    if too_long:
        problems.append(
            f"{len(too_long)} descriptions over {MAX_CLIP_BPE_TOKENS} CLIP BPE tokens (first: {too_long[0][:60]!r})"
        )
    described = set(kb.filter(is_category_row(kb))["Category"].to_pylist())
    missing = [k for k in class_keys if k not in described]
    if missing:
        problems.append(f"{len(missing)} categories without descriptions: {missing[:5]}")
    meta.update(
        rows=kb.num_rows, duplicated_ids=dup, empty=empty, over_long=len(too_long), categories_missing=len(missing)
    )
    return CheckOutcome(not problems, "; ".join(problems) or "knowledge base is valid", meta)


def check_centres(
    vectors: np.ndarray, class_index: np.ndarray, k_per_class: dict[int, int], n_classes: int, k: int, dim: int
) -> CheckOutcome:
    """Shape, the stored K per class, finite unit vectors, every class has centres."""
    problems = []
    if vectors.ndim != 2 or vectors.shape[1] != dim:
        problems.append(f"centre vectors have shape {vectors.shape}, expected (*, {dim})")
    if not np.isfinite(vectors).all():
        problems.append("non-finite centre values")
    counts = np.bincount(class_index, minlength=n_classes)
    wrong = [c for c in range(n_classes) if counts[c] != k_per_class.get(c, -1) or counts[c] == 0]
    if wrong:
        problems.append(f"classes whose stored K disagrees with their rows or who have none: {wrong[:5]}")
    over = [c for c, kc in k_per_class.items() if kc > k]
    if over:
        problems.append(f"classes with more than K={k} centres: {over[:5]}")
    norms = np.linalg.norm(vectors, axis=1) if len(vectors) else np.ones(1)
    if np.abs(norms - 1).max() > 1e-3:
        problems.append("centres are not unit-normalized")
    meta = {
        "centres": int(len(vectors)),
        "classes": n_classes,
        "min_k": int(counts.min()) if counts.size else 0,
        "max_k": int(counts.max()) if counts.size else 0,
    }
    return CheckOutcome(not problems, "; ".join(problems) or "centres are valid", meta)


def check_vectors(
    contract: TableContract, path: Path, expected_dim: int | None = None, just_written: bool = False
) -> CheckOutcome:
    """Every stored vector finite with unit norm, of the expected size. A table `just_written` through
    its contract was verified on the way out, so only its size is checked; otherwise the file is
    streamed through (it may have been damaged since)."""
    problems = []
    dim = contract.dim(path)
    if expected_dim is not None and dim != expected_dim:
        problems.append(f"vectors have {dim} dimensions, expected {expected_dim}")
    rows = contract.num_rows(path)
    if not just_written:
        try:
            contract.verify(path)
        except ValueError as exc:
            problems.append(str(exc))
    return CheckOutcome(
        not problems,
        "; ".join(problems) or f"{rows} finite unit vectors of size {dim}",
        {"rows_checked": rows, "dim": dim},
    )
