"""Run the demo's stages on one benchmark in plain Python and print, per stage, whether it reused its stored
output and its data version (JSON on stdout). tests/core/core/test_code_versions.py runs it in a subprocess over a
temporary copy of unibind_core (PYTHONPATH), edits that copy between runs, and compares what recomputed.

    python code_edit_pipeline.py DATA_ROOT [refresh]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import unibind_core
from unibind_core.core.settings import Settings
from unibind_core.data.benchmarks.spec import BENCHMARKS, profile_benchmarks
from unibind_core.stages.centres import stage_centres
from unibind_core.stages.data import stage_backbone, stage_manifest, stage_world
from unibind_core.stages.evaluation import stage_evaluation
from unibind_core.stages.features import stage_features
from unibind_core.stages.heads import stage_head
from unibind_core.stages.knowledge import stage_captions, stage_descriptions, stage_kb, stage_text_embeddings

BENCH = "demo_image"


def main() -> None:
    root, refresh = Path(sys.argv[1]), "refresh" in sys.argv[2:]
    s = Settings.from_mapping(
        dict(
            data_root=str(root),
            demo_max_per_class=6,
            descriptions_per_category=6,
            k=3,
            head_epochs=2,
            aligner="lcl",
            compare_aligners="",
            device="cpu",
            refresh=refresh,
            pretrain={"epochs_anchor": 1, "epochs_bind": 1, "width": 32},
        )
    )
    out, results, seconds = {"package": unibind_core.__file__}, {}, {}

    def run(name, stage, *args):
        t0 = time.perf_counter()
        results[name] = stage(s, *args)
        seconds[name] = round(time.perf_counter() - t0, 2)

    run("world", stage_world)
    for bench in profile_benchmarks(s.profile):
        if BENCHMARKS[bench].demo_writer:
            run(f"manifest {bench}", stage_manifest, bench)
    run("backbone", stage_backbone)
    for name, stage in (
        ("features", stage_features),
        ("descriptions", stage_descriptions),
        ("captions", stage_captions),
        ("kb", stage_kb),
        ("text_embeddings", stage_text_embeddings),
        ("centres", stage_centres),
        ("heads", stage_head),
        ("evaluation", stage_evaluation),
    ):
        run(name, stage, BENCH)
    out["stages"] = {
        k: {"reused": r.reused, "version": r.data_version, "seconds": seconds[k]} for k, r in results.items()
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
