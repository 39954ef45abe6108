"""The `aligned_heads` stage: every configured aligner trained on a benchmark's cached features (the loop is
method/aligners/loop.py; what it reads is stages/head_inputs.py), and the heads applied to features.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pyarrow as pa

from unibind_core.core.code_versions import code_version
from unibind_core.core.settings import Settings
from unibind_core.core.torch_setup import resolve_device, resolve_dtype
from unibind_core.method.aligners import ALIGNERS, options_of
from unibind_core.method.aligners.loop import HeadConfig, config_record, fit
from unibind_core.method.aligners.store import load_aligned, project, save_aligned
from unibind_core.stages import StageResult
from unibind_core.stages.common import artifact_version, require_artifact, require_one_space, reusable, spec_of
from unibind_core.stages.head_inputs import HeadInputs, align_data, uncaptioned
from unibind_core.stages.partners import with_partner
from unibind_core.stages.runs import head_runs
from unibind_core.storage.io import content_hash, file_hash
from unibind_core.storage.tables import CENTRES, FEATURES, HEAD_HISTORY, TEXT_EMBEDDINGS


def _loop_config(s: Settings, bench: str) -> HeadConfig:
    """Table 1 batch / lr / epochs of the benchmark (TrainSpec), the configured device and eval cadence."""
    t = spec_of(bench).train
    return HeadConfig(
        batch_size=t.batch_size,
        lr=t.lr,
        epochs=s.head_epochs or t.epochs,
        eval_every=s.alignment.eval_every,
        device=s.device,
        dtype=s.dtype,
    )


def stage_head(s: Settings, bench: str) -> StageResult:
    """Train every configured aligner on the benchmark's fixed split (and on each official fold where it has
    them) on cached features; keep each one's best checkpoint on its eval split."""
    cfg = _loop_config(s, bench)
    require_one_space(s, bench)
    lay = s.layout
    inputs = [
        contract.require(path)
        for contract, path in (
            (FEATURES, lay.features(bench)),
            (TEXT_EMBEDDINGS, lay.text_embeddings(bench)),
            (CENTRES, lay.centres(bench)),
        )
    ]
    runs = head_runs(s, bench)
    aligners = {r: ALIGNERS.from_settings(r.aligner, s) for r in runs}
    shared = HeadInputs(s, bench, with_texts=any(a.uses_texts for a in aligners.values()))
    record = {
        "loop": config_record(cfg),
        "train_spec": asdict(spec_of(bench).train),
        "input_dtype": np.dtype(shared.dtype).name,
    }
    partners = shared.partners if any(a.uses_partner for a in aligners.values()) else None
    partner_versions = (
        [] if partners is None else [*map(artifact_version, partners.paths), *(f"absent:{b}" for b in partners.missing)]
    )
    keys = {
        r: content_hash(
            *map(artifact_version, inputs),
            json.dumps(record, sort_keys=True),
            r.aligner,
            json.dumps(options_of(a), sort_keys=True),
            "" if r.fold is None else r.fold.definition,
            *(partner_versions if a.uses_partner else []),
            code_version("heads"),
        )
        for r, a in aligners.items()
    }
    out = lay.head(bench)
    if all(reusable(s, r.path(s, bench), k) for r, k in keys.items()) and lay.head_history(bench).exists():
        return StageResult(file_hash(out), {"path": str(out)}, reused=True)
    history, best, with_partners = [], {}, {}
    for run, aligner in aligners.items():
        label = bench if run.fold is None and run.aligner == s.aligner else f"{bench} [{run.label}]"
        data = align_data(shared, run)
        module, rows = fit(aligner, data, cfg, label=label)
        extra = {"config": json.dumps(record, sort_keys=True)}
        if data.paired is not None:  # how many training samples had a partner member in their anchor
            with_partners[run.label] = with_partner(data.paired)
            extra.update(
                partners=",".join(partners.benchmarks),
                samples_with_partner=str(with_partners[run.label]),
                partners_missing=",".join(partners.missing),
            )
        save_aligned(run.path(s, bench), aligner, module, keys[run], extra)
        history += [
            {
                **r,
                "aligner": run.aligner,
                "protocol": str(run.protocol),
                "fold": None if run.fold is None else run.fold.fold,
            }
            for r in rows
        ]
        if run.fold is None:
            best[run.aligner] = max(rows, key=lambda r: r["eval_accuracy"])
    HEAD_HISTORY.write(pa.Table.from_pylist(history, schema=HEAD_HISTORY.schema), lay.head_history(bench))
    partner_meta = (
        {}
        if partners is None
        else {
            "partners": list(partners.benchmarks),
            "samples_with_partner": with_partners,
            "partners_missing": list(partners.missing),
        }
    )
    primary = best[s.aligner]
    device = resolve_device(cfg.device)  # where fit() trained: the configured device, resolved
    return StageResult(
        file_hash(out),
        {
            "path": str(out),
            "aligners": s.aligner_names(),
            "heads": len(runs),
            "best_step": primary["step"],
            "config": record,
            "device": str(device),
            "dtype": str(resolve_dtype(cfg.dtype, device)).removeprefix("torch."),
            "train_without_caption": uncaptioned(shared),
            **partner_meta,
        },
        metrics={
            "eval_accuracy_best": primary["eval_accuracy"],
            "eval_accuracy_step0": history[0]["eval_accuracy"],
            **{f"eval_accuracy_best/{a}": r["eval_accuracy"] for a, r in best.items()},
        },
    )


def through(s: Settings, bench: str, path: Path, x: np.ndarray) -> np.ndarray:
    _, module = load_aligned(require_artifact(path, f"head of {bench}", "aligned_heads"), x.shape[1])
    return project(module, x)


def fine_tuned(s: Settings, bench: str, x: np.ndarray) -> np.ndarray:
    """(N, D) frozen features through the benchmark's primary head (whichever aligner trained it) -> (N, D)."""
    return through(s, bench, s.layout.head(bench), x)
