"""Peak memory of the text-embedding stage (`kb_text_embeddings`) at ImageNet size, measured.

The stage is run as the asset runs it (`stage_text_embeddings(settings, bench)`) in a fresh process (peak RSS =
its VmHWM) on a knowledge base in the stage's own format: C classes x M descriptions and N captions, plus the
81 prompts per class the stage adds. The text tower is a real open_clip model of output size D (a tiny
architecture with random weights, saved as a `local-dir:` folder: no hub); the text-embedding cache is filled
beforehand, in another process, with a unit vector per text (what a previous run leaves there), so the run
measures the stage's own memory — reading the cache, the (N, D) result, the table written — and not the
encoder's throughput (bench/backbone_throughput.py measures that). Defaults: ImageNet, 1,000 x 1,000
descriptions + 1,281,167 captions, D = 1024.

    nice -n 10 .venv/bin/python bench/text_scale.py --workdir /big/disk [--captions 100000] [--max-rss-gib 12]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from table_scale import watched  # bench/ is this script's folder, first on sys.path

BENCH = "imagenet1k"

_SETUP = """
import unibind_core, json, sys
from pathlib import Path
import numpy as np
import pyarrow as pa
import torch
from safetensors.torch import save_file
from unibind_core.storage.layout import Layout
from unibind_core.storage.tables import CLASSES, KNOWLEDGE_BASE, TEXT_CACHE_SHARD
from unibind_core.storage.io import text_hash, content_hash
a = json.loads(sys.argv[1])
root, lay = Path(a["root"]), Layout(Path(a["root"]))
import open_clip
cfg = {"embed_dim": a["dim"], "vision_cfg": {"image_size": 32, "layers": 1, "width": 64, "patch_size": 8,
       "head_width": 32}, "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 1}}
model_dir = root / "model"
model_dir.mkdir(parents=True, exist_ok=True)
(model_dir / "open_clip_config.json").write_text(json.dumps({"model_cfg": cfg, "preprocess_cfg": {}}))
torch.manual_seed(0)
model = open_clip.CLIP(**cfg)
save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(model_dir / "open_clip_model.safetensors"))
keys = [f"n{i:08d}" for i in range(a["classes"])]
CLASSES.write(CLASSES.table({"class_index": list(range(a["classes"])), "class_key": keys,
                             "class_name": [f"class {i}" for i in range(a["classes"])],
                             "dataset_index": list(range(a["classes"]))}), lay.classes(a["bench"]))
ids = [f"cat:{k}:{j}" for k in keys for j in range(a["per_class"])] + [f"s{i:08d}" for i in range(a["captions"])]
cats = [k for k in keys for _ in range(a["per_class"])] + [keys[i % a["classes"]] for i in range(a["captions"])]
texts = [f"description {j} of class {k}" for k in keys for j in range(a["per_class"])] + [
    f"a caption of sample {i}" for i in range(a["captions"])]
now = pa.array([a["now"]] * len(ids), pa.timestamp("us", tz="UTC"))
KNOWLEDGE_BASE.write(pa.table({"ID": ids, "Category": cats, "Description": texts,
                               "Source": ["template"] * len(ids), "dataset": [a["bench"]] * len(ids),
                               "modality": ["image"] * len(ids), "prompt": [""] * len(ids),
                               "text_hash": [text_hash(t) for t in texts], "created_at": now}), lay.kb(a["bench"]))
print(json.dumps({"model_dir": str(model_dir), "kb_rows": len(ids)}))
"""

_FILL = """
import unibind_core, json, sys
from pathlib import Path
import numpy as np
from unibind_core.core.settings import Settings
from unibind_core.stages.common import text_encoder
from unibind_core.stages.knowledge import _text_rows
from unibind_core.knowledge.text_cache import cache_dir_for
from unibind_core.storage.io import text_hash, content_hash
from unibind_core.storage.tables import TEXT_CACHE_SHARD
a = json.loads(sys.argv[1])
s = Settings(data_root=Path(a["root"]), backbone="open_clip", backbone_weights=a["model_dir"], device="cpu")
encoder = text_encoder(s, a["bench"])
rows, _ = _text_rows(s, a["bench"])
hashes = sorted({text_hash(t) for t in rows["text"].to_pylist()})
folder = cache_dir_for(s.layout.text_cache, encoder.name)
rng = np.random.default_rng(0)
for i in range(0, len(hashes), 8192):
    part = hashes[i:i + 8192]
    v = rng.standard_normal((len(part), encoder.dim), dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    TEXT_CACHE_SHARD.write(TEXT_CACHE_SHARD.table({"text_hash": part}, v), folder / f"{content_hash(*part)}.parquet")
print(json.dumps({"texts": rows.num_rows, "unique": len(hashes), "dim": encoder.dim}))
"""

_STAGE = """
import unibind_core, json, os, sys, time
from pathlib import Path
from unibind_core.core.settings import Settings
from unibind_core.stages.knowledge import stage_text_embeddings
a = json.loads(sys.argv[1])
s = Settings(data_root=Path(a["root"]), backbone="open_clip", backbone_weights=a["model_dir"], device="cpu")
start, cpu = time.perf_counter(), os.times()
result = stage_text_embeddings(s, a["bench"])
end = os.times()
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"s": time.perf_counter() - start, "cpu_s": end.user - cpu.user + end.system - cpu.system,
                  "peak_gib": hwm / 2**20, "rows": result.row_count, "embedded_new": result.metadata["embedded_new"]}))
"""


def run(code: str, args: dict, max_rss_gib: float | None = None) -> dict:
    """`code` in a fresh interpreter with `args` as JSON; killed past `max_rss_gib` of RSS."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    returncode, stdout, stderr, killed = watched([sys.executable, "-c", code, json.dumps(args)], env, ROOT, max_rss_gib)
    if killed:
        return {"error": f"killed at {killed:.1f} GiB RSS (limit {max_rss_gib})"}
    if returncode:
        raise SystemExit(stderr[-3000:])
    return json.loads(stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--per-class", type=int, default=1000)
    p.add_argument("--captions", type=int, default=1_281_167)
    p.add_argument("--dim", type=int, default=1024)
    p.add_argument("--workdir", type=Path, help="where the inputs go (default: a temporary folder)")
    p.add_argument("--max-rss-gib", type=float, default=12.0, help="kill the stage past this RSS (default 12)")
    a = p.parse_args()
    with nullcontext(str(a.workdir)) if a.workdir else tempfile.TemporaryDirectory() as tmp:
        args = {
            "root": str(Path(tmp) / "text-scale"),
            "bench": BENCH,
            "classes": a.classes,
            "per_class": a.per_class,
            "captions": a.captions,
            "dim": a.dim,
            "now": int(datetime.now(UTC).timestamp() * 1e6),
        }
        start = time.perf_counter()
        args.update(run(_SETUP, args))
        filled = run(_FILL, args)
        print(
            f"inputs: {args['kb_rows']:,} knowledge-base rows, {filled['texts']:,} texts ({filled['unique']:,} "
            f"unique) cached at D = {filled['dim']}, in {time.perf_counter() - start:.0f} s"
        )
        result = run(_STAGE, args, a.max_rss_gib)
        print(f"kb_text_embeddings: {json.dumps(result)}")
        if "error" not in result:
            print(
                f"\n| stage | texts | D | peak | wall | CPU |\n|---|---|---|---|---|---|\n| kb_text_embeddings "
                f"(cache warm) | {result['rows']:,} | {filled['dim']} | {result['peak_gib']:.2f} GiB | "
                f"{result['s']:.0f} s | {result['cpu_s']:.0f} s |"
            )


if __name__ == "__main__":
    main()
