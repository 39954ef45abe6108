"""The predictions stage: classify every file dropped into <data root>/inbox/<benchmark>/ with the benchmark's
fine-tuned centres (`unibind_core/use/predict.py`), so new inputs get classified from the UI as from the CLI.

The folder's version (each file's relative path, size and mtime) is what the `new_inputs` observable source
reports, and what keys this stage's output: an unchanged folder and unchanged head and centres are reused.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from unibind_core.core.code_versions import code_version
from unibind_core.core.settings import Settings
from unibind_core.stages import StageResult
from unibind_core.stages.common import artifact_version, reusable
from unibind_core.storage.io import content_hash, file_hash
from unibind_core.storage.tables import PREDICTION_FAILURES, PREDICTIONS, Classifier, Setting
from unibind_core.use.predict import bound_model, predict

ABSENT = "absent"
TOP_K = 5


def inbox(s: Settings, bench: str) -> Path:
    return Path(s.data_root) / "inbox" / bench


def inbox_files(s: Settings, bench: str) -> list[Path]:
    """Visible files under the benchmark's inbox, sorted (hidden ones, e.g. .DS_Store, are never inputs)."""
    folder = inbox(s, bench)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and not any(x.startswith(".") for x in p.parts))


def inbox_version(s: Settings, bench: str) -> str:
    """What the folder holds now: a hash of each file's relative path, size and mtime ('absent' if none)."""
    files = inbox_files(s, bench)
    if not files:
        return ABSENT
    root = inbox(s, bench)
    return content_hash(*(f"{p.relative_to(root)}\0{p.stat().st_size}\0{p.stat().st_mtime_ns}\n" for p in files))[:16]


def outputs(s: Settings, bench: str) -> tuple[Path, Path]:
    folder = Path(s.data_root) / "predictions"
    return folder / f"{bench}.parquet", folder / f"{bench}.failures.parquet"


def stage_predictions(s: Settings, bench: str) -> StageResult:
    """PREDICTIONS of every inbox file (fine-tuned, centres, top 5) and the files that did not decode."""
    model = bound_model(s, bench)
    version = inbox_version(s, bench)
    key = content_hash(
        version, artifact_version(model.head), artifact_version(s.layout.centres(bench)), code_version("predictions")
    )
    out, failures_out = outputs(s, bench)
    if reusable(s, out, key):
        return StageResult(
            file_hash(out),
            {"path": str(out), "inbox": str(inbox(s, bench))},
            reused=True,
            row_count=PREDICTIONS.num_rows(out),
        )
    files = inbox_files(s, bench)
    result = predict(model, files, Setting.FINE_TUNED, Classifier.CENTRES, TOP_K)
    PREDICTIONS.write(result.table, out, inputs_key=key)
    PREDICTION_FAILURES.write(
        PREDICTION_FAILURES.table(
            {"path": [f["path"] for f in result.failures], "reason": [f["reason"] for f in result.failures]}
        ),
        failures_out,
    )
    top1 = result.table.filter(pa.compute.equal(result.table["rank"], 0))
    counts = {r["values"]: r["counts"] for r in pa.compute.value_counts(top1["class_name"]).to_pylist()}
    return StageResult(
        file_hash(out),
        {
            "path": str(out),
            "inbox": str(inbox(s, bench)),
            "files": len(files),
            "classified": len(result.top1),
            "skipped": len(result.failures),
            "first_skipped": result.failures[:5],
            "top1_per_class": json.dumps(counts, sort_keys=True),
        },
        row_count=result.table.num_rows,
        metrics={"classified": float(len(result.top1))},
    )
