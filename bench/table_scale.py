"""Peak memory and wall time of the model-side stages on a large synthetic benchmark.

Synthetic inputs in the stages' own formats (docs/architecture.md, Tables): C classes x M descriptions,
N training captions, a test and an eval split, D-dimensional unit vectors. Each stage runs in a fresh
subprocess (peak RSS = that process's VmHWM, imports included), first with this tree's code, then,
with --baseline TREE, with another checkout's (e.g. a `git worktree` of an older commit), side by side.

    .venv/bin/python bench/table_scale.py                       # 1,000 x 1,000 + 100k captions, D = 1024
    .venv/bin/python bench/table_scale.py --baseline /tmp/base  # ... and the same stages of another tree
    .venv/bin/python bench/table_scale.py --classes 50 --per-class 100 --captions 5000 --test 1000  # quick

The default size is the one of issue 7: a 1.18-million-row, 4.5 GiB text-embeddings table.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from unibind_core.io import vectors_to_arrow  # noqa: E402
from unibind_core.layout import Layout  # noqa: E402
from unibind_core.tables import (CLASSES, FEATURES, TEXT_EMBEDDINGS, TEXT_EMBEDDINGS_SCHEMA, RowKind,  # noqa: E402
                                 Split)

BENCH = "imagenet1k"  # a registered benchmark, for its TrainSpec; its class list is the synthetic one
STAGES = ("stage_centres", "stage_head", "stage_evaluation")


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _embedding_batches(a: argparse.Namespace, rng: np.random.Generator):
    """Rows in the contract's order (kind, then Category), one category of one kind at a time."""
    keys = [f"c{i:05d}" for i in range(a.classes)]
    caption_class = np.arange(a.captions) % a.classes
    per_kind = {RowKind.CAPTION: lambda k, c: [f"s{i:07d}" for i in np.flatnonzero(caption_class == c)],
                RowKind.DESCRIPTION: lambda k, c: [f"cat:{k}:{j}" for j in range(a.per_class)],
                RowKind.SINGLE_TEMPLATE: lambda k, c: [f"one:{k}"],
                RowKind.TEMPLATE: lambda k, c: [f"tpl:{k}:{j}" for j in range(80)]}
    for kind in sorted(per_kind):
        for c, key in enumerate(keys):
            ids = per_kind[kind](key, c)
            n = len(ids)
            yield pa.record_batch([pa.array(ids), pa.array([key] * n), pa.array([str(kind)] * n),
                                   pa.array([f"text of {i}" for i in ids]), pa.array([f"h{i}" for i in ids]),
                                   vectors_to_arrow(_unit(rng, n, a.dim))],
                                  schema=TEXT_EMBEDDINGS.schema_for(a.dim))


def write_inputs(a: argparse.Namespace, lay: Layout) -> dict:
    rng = np.random.default_rng(0)
    CLASSES.write(CLASSES.table({"class_index": list(range(a.classes)),
                                 "class_key": [f"c{i:05d}" for i in range(a.classes)],
                                 "class_name": [f"class {i}" for i in range(a.classes)],
                                 "dataset_index": list(range(a.classes))}), lay.classes(BENCH))
    n_eval = max(a.test // 20, a.classes)
    splits = [Split.TRAIN] * a.captions + [Split.EVAL] * n_eval + [Split.TEST] * a.test
    n = len(splits)
    ids = [f"s{i:07d}" for i in range(n)]
    labels = np.arange(n) % a.classes
    FEATURES.write(FEATURES.table({"sample_id": ids, "split": [str(s) for s in splits], "class_index": labels},
                                  _unit(rng, n, a.dim)), lay.features(BENCH), inputs_key="synthetic-features")
    path = lay.text_embeddings(BENCH)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    schema = TEXT_EMBEDDINGS.schema_for(a.dim).with_metadata({b"unibind_inputs_key": b"synthetic-texts"})
    assert schema.names == TEXT_EMBEDDINGS_SCHEMA.names
    with pq.ParquetWriter(path, schema) as writer:
        pending: list[pa.RecordBatch] = []
        for batch in _embedding_batches(a, rng):
            pending.append(batch)
            if sum(b.num_rows for b in pending) >= TEXT_EMBEDDINGS.row_group_rows:
                writer.write_table(pa.Table.from_batches(pending), row_group_size=TEXT_EMBEDDINGS.row_group_rows)
                rows += sum(b.num_rows for b in pending)
                pending = []
        if pending:
            writer.write_table(pa.Table.from_batches(pending), row_group_size=TEXT_EMBEDDINGS.row_group_rows)
            rows += sum(b.num_rows for b in pending)
    return {"text_rows": rows, "text_gib": path.stat().st_size / 2**30, "feature_rows": n}


_CHILD = """
import json, sys, time
sys.path.insert(0, {tree!r})
from pathlib import Path
from unibind_core.settings import Settings
import unibind_core.stages.model as m
s = Settings(data_root=Path({root!r}), k={k}, head_epochs=1)
start = time.perf_counter()
getattr(m, {stage!r})(s, {bench!r})
# VmHWM: this process's own peak RSS (ru_maxrss would carry over the parent's peak across fork + exec)
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({{"s": time.perf_counter() - start, "peak_gib": hwm / 2**20}}))
"""


def run_stage(tree: Path, root: Path, stage: str, k: int) -> dict:
    code = _CHILD.format(tree=str(tree), root=str(root), k=k, stage=stage, bench=BENCH)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tree)
    if out.returncode:
        return {"error": out.stderr.strip().splitlines()[-1][:120]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--per-class", type=int, default=1000)
    p.add_argument("--captions", type=int, default=100_000)
    p.add_argument("--test", type=int, default=20_000)
    p.add_argument("--dim", type=int, default=1024)
    p.add_argument("--k", type=int, default=50)
    p.add_argument("--baseline", type=Path, help="another checkout whose stages to measure on the same inputs")
    p.add_argument("--workdir", type=Path, help="keep inputs here (default: a temporary folder)")
    a = p.parse_args()
    trees = {"this tree": ROOT, **({"baseline": a.baseline.resolve()} if a.baseline else {})}
    with tempfile.TemporaryDirectory(dir=a.workdir) as tmp:
        start = time.perf_counter()
        info = write_inputs(a, Layout(Path(tmp) / "this tree"))
        print(f"inputs: {info['text_rows']:,} text rows ({info['text_gib']:.2f} GiB), {info['feature_rows']:,} "
              f"feature rows, D = {a.dim}, written in {time.perf_counter() - start:.0f} s")
        results = {}
        for name, tree in trees.items():
            root = Path(tmp) / name
            if not root.exists():  # each tree writes its own centres and head; the inputs are shared
                root.mkdir()
                for sub in ("manifests", "features", "embeddings"):
                    os.symlink(Path(tmp) / "this tree" / sub, root / sub)
            results[name] = {stage: run_stage(tree, root, stage, a.k) for stage in STAGES}
        print(f"\n{'stage':<18}" + "".join(f"{n + ' peak GiB':>22}{n + ' s':>16}" for n in trees)
              + ("   peak ratio   time ratio" if a.baseline else ""))
        for stage in STAGES:
            cells = []
            for name in trees:
                r = results[name][stage]
                cells.append(f"{r['peak_gib']:>22.2f}{r['s']:>16.1f}" if "error" not in r else f"{r['error']:>38}")
            line = f"{stage:<18}" + "".join(cells)
            if a.baseline and all("error" not in results[n][stage] for n in trees):
                new, old = results["this tree"][stage], results["baseline"][stage]
                line += f"   {old['peak_gib'] / new['peak_gib']:>9.1f}x   {old['s'] / new['s']:>9.1f}x"
            print(line)


if __name__ == "__main__":
    main()
