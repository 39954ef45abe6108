"""The pipeline's design choices as ratios, each measured side by side with the alternative in one run.

    .venv/bin/python bench/ratios.py            # every figure (a few minutes on 2 cores)
    .venv/bin/python bench/ratios.py --quick    # smaller sizes, same figures

1. head training on cached frozen features vs a loop that re-runs the frozen backbone every batch
   (a torchvision ResNet-18, random weights, 64x64 images; our heads.train_head against the same loop
   with the backbone inside);
2. centre localization at C classes x 1,000 descriptions: localize_centres (one class in memory at a
   time, FAISS exact top-K) vs one dense (M, C) similarity matrix with per-class arg-partition;
3. the text-embedding pipeline (hashing, the content-hash cache, a Parquet cache shard) vs the raw
   MiniLM encoder on the same fresh texts, and a rerun that finds everything cached;
4. after a 1 % edit of a knowledge base, the share of texts the encoder sees again, and the time
   against embedding everything;
5. describer throughput against a local OpenAI-compatible server: bench/describer_throughput.py
   (run with small sizes here; its own figures are requests/s and overhead vs a bare client loop).
Peak memory is tracemalloc's (numpy and torch CPU tensors report to it; FAISS' own buffers do not).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from unibind_core.encoders.text.minilm import MiniLMEncoder
from unibind_core.knowledge.text_cache import embed_texts
from unibind_core.method.aligners.base import contrastive_loss
from unibind_core.method.aligners.lcl import LCL
from unibind_core.method.aligners.loop import HeadConfig, make_head, train_head
from unibind_core.method.centres import ClassTexts, localize_centres


def timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    """(seconds, peak MiB traced, result) of one call."""
    tracemalloc.start()
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak, out


def row(label: str, ours: float, theirs: float, unit: str = "s") -> None:
    print(f"  {label:<52} {ours:10.2f} {unit:<4} vs {theirs:10.2f} {unit:<4}  ratio {theirs / ours:7.1f}x")


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# 1 -------------------------------------------------------------------------------------------------
def head_training(n: int, epochs: int) -> None:
    import torchvision

    torch.manual_seed(0)
    backbone = torchvision.models.resnet18(weights=None, num_classes=512).eval()  # frozen, (B, 3, 64, 64) -> (B, 512)
    for p in backbone.parameters():
        p.requires_grad_(False)
    images = torch.randn(n, 3, 64, 64)
    labels = np.arange(n) % 10
    captions = _unit(np.random.default_rng(0), n, 512)
    cfg = HeadConfig(epochs=epochs, batch_size=128)
    centres, centre_class = captions[:10], np.arange(10)

    def cached() -> None:
        with torch.inference_mode():
            feats = nn.functional.normalize(torch.cat([backbone(x) for x in images.split(256)]), dim=-1).numpy()
        train_head(feats, captions, labels, feats[:64], labels[:64], centres, centre_class, cfg, label="bench")

    def through_backbone() -> None:
        head = make_head(512, True)
        opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        t = torch.from_numpy(captions)
        gen = torch.Generator().manual_seed(0)
        for _ in range(epochs):
            for idx in torch.randperm(n, generator=gen).split(cfg.batch_size):
                with torch.no_grad():
                    x = nn.functional.normalize(backbone(images[idx]), dim=-1)  # the frozen backbone, every batch
                z = nn.functional.normalize(head(x), dim=-1)
                loss = contrastive_loss(z @ t[idx].T / LCL().temperature)  # the lcl head's loss
                opt.zero_grad()
                loss.backward()
                opt.step()

    ours, _, _ = timed(cached)
    theirs, _, _ = timed(through_backbone)
    print(f"1. head training, {n} samples x {epochs} epochs (features extracted once, included)")
    row("cached features vs backbone in the loop", ours, theirs)


# 2 -------------------------------------------------------------------------------------------------
def centre_localization(classes: int, per_class: int, dim: int, k: int) -> None:
    rng = np.random.default_rng(1)
    queries = {c: _unit(rng, 1, dim)[0] for c in range(classes)}

    def stream():
        for c in range(classes):
            ids = [f"cat:c{c}:{j}" for j in range(per_class)]
            yield ClassTexts(c, f"c{c}", ids, ids, _unit(np.random.default_rng(100 + c), per_class, dim))

    def ours():
        return localize_centres(stream(), queries, k)

    def dense():
        vectors = np.concatenate([cls.vectors for cls in stream()])  # (M, D), every description at once
        owner = np.repeat(np.arange(classes), per_class)
        sims = vectors @ np.stack([queries[c] for c in range(classes)]).T  # (M, C)
        keep = []
        for c in range(classes):
            rows = np.flatnonzero(owner == c)
            s = sims[rows, c]
            top = rows[np.argpartition(-s, k)[:k]]
            keep.append(top[np.argsort(-sims[top, c], kind="stable")])
        return np.concatenate(keep)

    t_ours, m_ours, table = timed(ours)
    t_dense, m_dense, picked = timed(dense)
    dense_ids = {f"cat:c{i // per_class}:{i % per_class}" for i in picked.tolist()}
    same = set(table["ID"].to_pylist()) == dense_ids
    print(
        f"2. centre localization, {classes} classes x {per_class} descriptions, D={dim}, K={k} "
        f"({'the same' if same else 'DIFFERENT'} centres chosen)"
    )
    row("wall time: streamed FAISS vs dense matrix", t_ours, t_dense)
    row("peak memory: streamed FAISS vs dense matrix", m_ours, m_dense, "MiB")


# 3, 4 ----------------------------------------------------------------------------------------------
def _texts(n: int, tag: str) -> list[str]:
    words = ("red", "small", "bright", "old", "quiet", "striped", "wooden", "metal", "round", "tall")
    return [f"a {words[i % 10]} {words[(i // 10) % 10]} object number {i} seen {tag}." for i in range(n)]


def text_pipeline(n: int, encoder: MiniLMEncoder) -> None:
    texts = _texts(n, "in the pipeline")
    encoder.encode(_texts(encoder.batch_size, "while warming up"))  # first-call costs out of both timings
    raw, _, _ = timed(lambda: encoder.encode(texts))
    with tempfile.TemporaryDirectory() as cache:
        first, _, (_, report) = timed(lambda: embed_texts(texts, encoder, Path(cache)))
        again, _, (_, report2) = timed(lambda: embed_texts(texts, encoder, Path(cache)))
    print(f"3. text embedding, {n} fresh texts (MiniLM on CPU, batch {encoder.batch_size})")
    row("pipeline (hash, cache, shard) vs raw encoder", first, raw)
    row(f"rerun, {report2.embedded} embedded, vs raw encoder", again, raw)


def kb_edit(n: int, share: float, encoder: MiniLMEncoder) -> None:
    texts = _texts(n, "in the knowledge base")
    rng = np.random.default_rng(2)
    edited = list(texts)
    for i in rng.choice(n, int(n * share), replace=False):
        edited[i] = edited[i][:-1] + ", as edited by a curator."
    with tempfile.TemporaryDirectory() as cache:
        embed_texts(texts, encoder, Path(cache))
        t_edit, _, (_, report) = timed(lambda: embed_texts(edited, encoder, Path(cache)))
    t_all, _, _ = timed(lambda: encoder.encode(edited))
    print(
        f"4. a {share:.0%} edit of a {n}-text knowledge base: {report.embedded} of {n} texts re-embedded "
        f"({report.embedded / n:.2%})"
    )
    row("re-embed after the edit vs embed everything", t_edit, t_all)


def describer(quick: bool) -> None:
    args = ["--categories", "20", "--n", "100"] if quick else ["--categories", "50", "--n", "300"]
    print("5. describer throughput against a local server (bench/describer_throughput.py " + " ".join(args) + ")")
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "describer_throughput.py"), *args],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    lines = [ln for ln in out.stdout.splitlines() if ln.strip()]
    for ln in lines[-8:] if out.returncode == 0 else out.stderr.splitlines()[-5:]:
        print("  " + ln)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (same figures)")
    a = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    head_training(n=512 if a.quick else 2048, epochs=2 if a.quick else 4)
    centre_localization(classes=100 if a.quick else 1000, per_class=1000, dim=384 if a.quick else 768, k=50)
    encoder = MiniLMEncoder(device="cpu")
    text_pipeline(1000 if a.quick else 5000, encoder)
    kb_edit(2000 if a.quick else 20000, 0.01, encoder)
    describer(a.quick)


if __name__ == "__main__":
    main()
