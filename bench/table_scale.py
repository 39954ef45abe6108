"""Peak memory, wall and CPU time of the model-side stages on a large synthetic benchmark.

Synthetic inputs in the stages' own formats (docs/architecture.md, Tables): C classes x M descriptions,
N training captions, a test and an eval split, D-dimensional unit vectors. Each stage runs in a fresh
subprocess (peak RSS = that process's VmHWM, imports included; CPU s = its user + system time), called as
the asset calls it (`stage_*(settings, bench)`), first with this tree's code, then, with --baseline TREE, with
another checkout's (e.g. `git archive` of an older commit), side by side; with --compare the two trees' heads
(safetensors tensors) and evaluation tables are compared too. The numeric environment (BLAS libraries and
their threads through threadpoolctl, the OMP/OPENBLAS/MKL variables, FAISS's OpenMP threads) and the
machine's float32 GEMM rate (numpy sgemm, GFLOP/s) are printed first: the evaluation's bound is its
FLOP count over that rate. A watchdog kills a stage whose RSS passes --max-rss-gib (default 8).

    nice -n 10 .venv/bin/python bench/table_scale.py                       # S3: 1,000 x 1,000 + 100k captions, D = 1024
    nice -n 10 .venv/bin/python bench/table_scale.py --aligners "" --stages stage_head,stage_evaluation
    .venv/bin/python bench/table_scale.py --baseline /tmp/base --compare   # ... and the same stages of another tree
    .venv/bin/python bench/table_scale.py --classes 50 --per-class 100 --captions 5000 --test 1000  # quick
    # ImageNet scale (not run on the 2-core machine: ~1.3M x 1M exact searches for Ex-MCR; needs >= 32 GiB):
    nice -n 10 .venv/bin/python bench/table_scale.py --classes 1000 --per-class 1000 --captions 1281167 \
        --test 50000 --max-rss-gib 12 --workdir /big/disk

The default size is the one of issue 7: a 1.18-million-row, 4.5 GiB text-embeddings table. `--aligners` is
`compare_aligners` (default: the Settings default, centrobind,exmcr beside lcl).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from unibind_core.storage.io import vectors_to_arrow
from unibind_core.storage.layout import Layout
from unibind_core.storage.tables import CLASSES, FEATURES, TEXT_EMBEDDINGS, TEXT_EMBEDDINGS_SCHEMA, RowKind, Split

BENCH = "imagenet1k"  # a registered benchmark, for its TrainSpec; its class list is the synthetic one
STAGES = ("stage_centres", "stage_head", "stage_evaluation")


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _embedding_batches(a: argparse.Namespace, rng: np.random.Generator):
    """Rows in the contract's order (kind, then Category), one category of one kind at a time."""
    keys = [f"c{i:05d}" for i in range(a.classes)]
    caption_class = np.arange(a.captions) % a.classes
    per_kind = {
        RowKind.CAPTION: lambda k, c: [f"s{i:07d}" for i in np.flatnonzero(caption_class == c)],
        RowKind.DESCRIPTION: lambda k, c: [f"cat:{k}:{j}" for j in range(a.per_class)],
        RowKind.SINGLE_TEMPLATE: lambda k, c: [f"one:{k}"],
        RowKind.TEMPLATE: lambda k, c: [f"tpl:{k}:{j}" for j in range(80)],
    }
    for kind in sorted(per_kind):
        for c, key in enumerate(keys):
            ids = per_kind[kind](key, c)
            n = len(ids)
            yield pa.record_batch(
                [
                    pa.array(ids),
                    pa.array([key] * n),
                    pa.array([str(kind)] * n),
                    pa.array([f"text of {i}" for i in ids]),
                    pa.array([f"h{i}" for i in ids]),
                    vectors_to_arrow(_unit(rng, n, a.dim)),
                ],
                schema=TEXT_EMBEDDINGS.schema_for(a.dim),
            )


def write_inputs(a: argparse.Namespace, lay: Layout) -> dict:
    rng = np.random.default_rng(0)
    CLASSES.write(
        CLASSES.table(
            {
                "class_index": list(range(a.classes)),
                "class_key": [f"c{i:05d}" for i in range(a.classes)],
                "class_name": [f"class {i}" for i in range(a.classes)],
                "dataset_index": list(range(a.classes)),
            }
        ),
        lay.classes(BENCH),
    )
    n_eval = max(a.test // 20, a.classes)
    splits = [Split.TRAIN] * a.captions + [Split.EVAL] * n_eval + [Split.TEST] * a.test
    n = len(splits)
    ids = [f"s{i:07d}" for i in range(n)]
    labels = np.arange(n) % a.classes
    part = 1 << 16  # written in parts (FEATURES.write_stream): 1.33M x 1024 float32 at ImageNet size is 5.5 GB
    FEATURES.write_stream(
        (
            FEATURES.table(
                {
                    "sample_id": ids[i : i + part],
                    "split": [str(s) for s in splits[i : i + part]],
                    "class_index": labels[i : i + part],
                },
                _unit(rng, len(ids[i : i + part]), a.dim),
            )
            for i in range(0, n, part)
        ),
        lay.features(BENCH),
        inputs_key="synthetic-features",
    )
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


# where each stage lives (unibind_core/stages/: one module per stage group)
STAGE_MODULES = {
    "stage_centres": "unibind_core.stages.centres",
    "stage_head": "unibind_core.stages.heads",
    "stage_evaluation": "unibind_core.stages.evaluation",
}

_CHILD = """
import json, os, sys, time
sys.path.insert(0, {tree!r})
from pathlib import Path
from unibind_core.core.settings import Settings
import importlib
s = Settings(data_root=Path({root!r}), k={k}, head_epochs=1, compare_aligners={aligners!r})
start, cpu = time.perf_counter(), os.times()
getattr(importlib.import_module({module!r}), {stage!r})(s, {bench!r})
end = os.times()
# VmHWM: this process's own peak RSS (ru_maxrss would carry over the parent's peak across fork + exec)
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({{"s": time.perf_counter() - start, "cpu_s": end.user - cpu.user + end.system - cpu.system,
                  "peak_gib": hwm / 2**20}}))
"""

_ENV = """
import json, os, time
import numpy as np
from threadpoolctl import threadpool_info
import faiss, torch
a, b = (np.random.default_rng(0).standard_normal((n, 1024), dtype=np.float32) for n in (4096, 8192))
a @ b.T
best = 0.0
for _ in range(3):  # the best of three: the machine is shared
    start = time.perf_counter()
    a @ b.T
    best = max(best, 2 * 4096 * 8192 * 1024 / (time.perf_counter() - start) / 1e9)
pools = [{k: p.get(k) for k in ("user_api", "internal_api", "num_threads", "version", "architecture", "filepath")}
         for p in threadpool_info()]
print(json.dumps({"sgemm_gflops": round(best, 1), "cpu_count": os.cpu_count(), "numpy": np.__version__,
                  "faiss": faiss.__version__, "faiss_omp_threads": faiss.omp_get_max_threads(),
                  "torch_threads": torch.get_num_threads(), "threadpools": pools,
                  "env": {k: v for k, v in os.environ.items() if k.startswith(("OMP_", "OPENBLAS", "MKL_", "GOTO"))}}))
"""


def numeric_environment() -> dict:
    """BLAS/OpenMP libraries and threads as a stage's process sees them, and numpy's float32 GEMM rate."""
    out = subprocess.run([sys.executable, "-c", _ENV], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _rss_gib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:")) / 2**20
    except (FileNotFoundError, StopIteration):
        return 0.0


def run_stage(tree: Path, root: Path, stage: str, k: int, aligners: str, max_rss_gib: float) -> dict:
    """One stage in a fresh process under `tree`'s code; killed (and reported) past `max_rss_gib` of RSS."""
    code = _CHILD.format(
        tree=str(tree), root=str(root), k=k, stage=stage, bench=BENCH, aligners=aligners, module=STAGE_MODULES[stage]
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(tree)}
    returncode, stdout, stderr, killed = watched([sys.executable, "-c", code], env, tree, max_rss_gib)
    if killed:
        return {"error": f"killed at {killed:.1f} GiB RSS (limit {max_rss_gib})"}
    if returncode:
        return {"error": (stderr.strip().splitlines() or ["?"])[-1][:120]}
    return json.loads(stdout.strip().splitlines()[-1])


def watched(argv: list[str], env: dict, cwd: Path, max_rss_gib: float | None) -> tuple[int, str, str, float | None]:
    """Run `argv`, killing it past `max_rss_gib` of RSS (None: no limit) -> (exit code, stdout, stderr, the RSS
    it was killed at or None). bench/text_scale.py runs its stage through it too."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    killed: list[float] = []

    def watch() -> None:
        while max_rss_gib and proc.poll() is None:
            rss = _rss_gib(proc.pid)
            if rss > max_rss_gib:
                killed.append(rss)
                proc.kill()
            time.sleep(0.2)

    threading.Thread(target=watch, daemon=True).start()
    stdout, stderr = proc.communicate()
    return proc.returncode, stdout, stderr, (killed[0] if killed else None)


def compare_outputs(roots: dict[str, Path]) -> list[str]:
    """Lines saying whether the two trees' heads (every tensor) and evaluation tables are equal."""
    from safetensors.numpy import load_file

    from unibind_core.storage.tables import EVALUATIONS

    this, base = roots["this tree"], roots["baseline"]
    lines = []
    for path in sorted((this / "heads").rglob("*.safetensors")) if (this / "heads").exists() else []:
        other = base / path.relative_to(this)
        if not other.exists():
            lines.append(f"{path.name}: no baseline head")
            continue
        a, b = load_file(str(path)), load_file(str(other))
        diff = max(float(np.abs(a[k] - b[k]).max()) for k in a) if a.keys() == b.keys() else float("nan")
        lines.append(f"head {path.relative_to(this)}: {'identical' if diff == 0 else f'max |diff| {diff:.3g}'}")
    for path in sorted((this / "eval").glob("*.parquet")) if (this / "eval").exists() else []:
        other = base / path.relative_to(this)
        if other.exists():
            a, b = EVALUATIONS.read(path), EVALUATIONS.read(other)
            same = a.sort_by([("setting", "ascending"), ("classifier", "ascending")]).equals(
                b.sort_by([("setting", "ascending"), ("classifier", "ascending")])
            )
            lines.append(f"evaluation {path.relative_to(this)}: {'identical' if same else 'DIFFERENT'}")
    return lines


def evaluation_flops(a: argparse.Namespace) -> float:
    """GEMM FLOPs of scoring one test feature set: templates, single template and the C x k centres."""
    return 2.0 * a.test * (2 * a.classes + a.classes * min(a.k, a.per_class)) * a.dim


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--per-class", type=int, default=1000)
    p.add_argument("--captions", type=int, default=100_000)
    p.add_argument("--test", type=int, default=20_000)
    p.add_argument("--dim", type=int, default=1024)
    p.add_argument("--k", type=int, default=50)
    p.add_argument("--baseline", type=Path, help="another checkout whose stages to measure on the same inputs")
    p.add_argument("--compare", action="store_true", help="with --baseline: compare the heads and evaluations")
    p.add_argument(
        "--workdir",
        type=Path,
        help="keep the inputs here and reuse them on the next run with the same sizes (default: a temporary folder)",
    )
    p.add_argument("--aligners", default=None, help="compare_aligners (default: the Settings default)")
    p.add_argument("--stages", default=",".join(STAGES), help="comma-separated, in order (default: all three)")
    p.add_argument("--max-rss-gib", type=float, default=8.0, help="kill a stage past this RSS (default 8)")
    a = p.parse_args()
    stages = [x for x in a.stages.split(",") if x]
    if a.aligners is None:
        from unibind_core.core.settings import Settings

        a.aligners = Settings(data_root=Path(".")).compare_aligners
    numeric = numeric_environment()
    print(f"numeric environment: {json.dumps(numeric)}")
    print(
        f"sizes: {a.classes} classes x {a.per_class} descriptions, {a.captions:,} captions, {a.test:,} test, "
        f"D = {a.dim}, k = {a.k}, aligners lcl + {a.aligners!r}, 1 epoch"
    )
    trees = {"this tree": ROOT, **({"baseline": a.baseline.resolve()} if a.baseline else {})}
    with nullcontext(str(a.workdir)) if a.workdir else tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        sizes = json.dumps({k: getattr(a, k) for k in ("classes", "per_class", "captions", "test", "dim")})
        marker = Path(tmp) / "inputs.json"
        if marker.exists() and json.loads(marker.read_text())["sizes"] == sizes:
            info = json.loads(marker.read_text())["info"]  # a kept workdir: the same inputs, not written again
        else:
            shutil.rmtree(Path(tmp) / "this tree", ignore_errors=True)
            info = write_inputs(a, Layout(Path(tmp) / "this tree"))
            marker.write_text(json.dumps({"sizes": sizes, "info": info}))
        outputs = {"stage_centres": "centres", "stage_head": "heads", "stage_evaluation": "eval"}
        for name in trees:  # the outputs of the stages to run are recomputed; the others' are kept
            for stage in stages:
                shutil.rmtree(Path(tmp) / name / outputs[stage], ignore_errors=True)
        print(
            f"inputs: {info['text_rows']:,} text rows ({info['text_gib']:.2f} GiB), {info['feature_rows']:,} "
            f"feature rows, D = {a.dim}, ready in {time.perf_counter() - start:.0f} s"
        )
        results = {}
        for name, tree in trees.items():
            root = Path(tmp) / name
            if not root.exists():  # each tree writes its own centres and head; the inputs are shared
                root.mkdir()
                for sub in ("manifests", "features", "embeddings"):
                    os.symlink(Path(tmp) / "this tree" / sub, root / sub)
            results[name] = {}
            for stage in stages:  # each line as it finishes: a long run shows its progress
                results[name][stage] = run_stage(tree, root, stage, a.k, a.aligners, a.max_rss_gib)
                print(f"  {name}: {stage} {json.dumps(results[name][stage])}", flush=True)
        print(
            f"\n{'stage':<18}"
            + "".join(f"{n + ' peak GiB':>22}{n + ' s':>14}{'CPU s':>9}" for n in trees)
            + ("   peak ratio   CPU ratio" if a.baseline else "")
        )
        for stage in stages:
            cells = []
            for name in trees:
                r = results[name][stage]
                cells.append(
                    f"{r['peak_gib']:>22.2f}{r['s']:>14.1f}{r['cpu_s']:>9.1f}"
                    if "error" not in r
                    else f"{r['error']:>45}"
                )
            line = f"{stage:<18}" + "".join(cells)
            if a.baseline and all("error" not in results[n][stage] for n in trees):
                new, old = results["this tree"][stage], results["baseline"][stage]
                line += f"   {old['peak_gib'] / new['peak_gib']:>9.1f}x   {old['cpu_s'] / new['cpu_s']:>8.1f}x"
            print(line)
        if "stage_evaluation" in stages:
            flops = evaluation_flops(a)
            print(
                f"\nevaluation GEMM work: {flops / 1e12:.2f} TFLOP per feature set (test x (2C + C*k) x D x 2); "
                f"bound at {numeric['sgemm_gflops']} GFLOP/s: {flops / numeric['sgemm_gflops'] / 1e9:.1f} s each"
            )
        if a.compare and a.baseline:
            print("\n" + "\n".join(compare_outputs({n: Path(tmp) / n for n in trees})))


if __name__ == "__main__":
    main()
