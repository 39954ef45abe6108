"""The `benchmark_evaluation` stage: zero-shot and each head's features under the three classifiers (the
scoring is evaluation/evaluate.py; this is the same idea at the stage layer), and the plots.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from unibind_core.core.settings import Settings
from unibind_core.evaluation.evaluate import Classifiers, evaluate, template_classifier
from unibind_core.evaluation.plots import alignment_plots, previews
from unibind_core.knowledge.templates import PROMPT_SETS
from unibind_core.stages import StageResult
from unibind_core.stages.common import read_classes, spec_of
from unibind_core.stages.head_inputs import centre_arrays, split_features, text_vectors
from unibind_core.stages.heads import through
from unibind_core.stages.runs import all_features, head_runs
from unibind_core.storage.io import table_hash
from unibind_core.storage.tables import EVALUATIONS, Classifier, RowKind, Setting, Split, SplitProtocol


def benchmark_classifiers(s: Settings, bench: str) -> Classifiers:
    """A benchmark's classifiers as evaluation builds them (templates, single template, centres): also what
    `predict` and `export` score with, so their predictions equal the evaluation's."""
    rows, vec = text_vectors(s, bench, ("Category", "kind"), RowKind.TEMPLATE, RowKind.SINGLE_TEMPLATE)
    index = {c.key: c.index for c in read_classes(s, bench)}
    cls_of = np.array([index[k] for k in rows["Category"].to_pylist()], dtype=np.int64)
    kinds = np.asarray(rows["kind"].to_pylist())
    centres, centre_class = centre_arrays(s, bench)
    tpl, one = kinds == RowKind.TEMPLATE, kinds == RowKind.SINGLE_TEMPLATE
    return Classifiers(
        template_classifier(vec[tpl], cls_of[tpl], len(index)),
        template_classifier(vec[one], cls_of[one], len(index)),
        centres,
        centre_class,
        s.device,
    )


FIXED_SPLIT = "train: reader's train split | eval: reader's eval split | test: reader's test split"


def stage_evaluation(s: Settings, bench: str) -> StageResult:
    """Fixed split: zero-shot and each aligner's head on the test split. With official folds also zero-shot on
    every sample and each aligner's head on each test fold (cross-validation)."""
    spec = spec_of(bench)
    clf = benchmark_classifiers(s, bench)
    test_rows, test_x = split_features(s, bench, Split.TEST)
    test_y = test_rows["class_index"].to_numpy()
    fixed = {"protocol": str(SplitProtocol.FIXED), "split": str(Split.TEST), "split_definition": FIXED_SPLIT}
    rows = [{**r, **fixed} for r in evaluate({Setting.ZERO_SHOT: test_x}, test_y, clf)]
    aligned, runs = {}, head_runs(s, bench)
    for run in runs:
        if run.fold is None:
            aligned[run.aligner] = through(s, bench, run.path(s, bench), test_x)
            rows += [
                {**r, **fixed, "aligner": run.aligner}
                for r in evaluate({Setting.FINE_TUNED: aligned[run.aligner]}, test_y, clf)
            ]
    if any(run.fold is not None for run in runs):  # the benchmark is cross-validated
        all_rows, all_x, folds = all_features(s, bench)
        all_y = all_rows["class_index"].to_numpy()
        rows += [
            {
                **r,
                "protocol": str(SplitProtocol.ALL),
                "split": "all",
                "split_definition": f"every sample ({len(all_y)}), nothing trained",
            }
            for r in evaluate({Setting.ZERO_SHOT: all_x}, all_y, clf)
        ]
        for run in runs:
            if run.fold is not None:
                _, _, test = run.fold.masks(folds)
                z = through(s, bench, run.path(s, bench), all_x[test])
                rows += [
                    {
                        **r,
                        "protocol": str(run.protocol),
                        "split": f"fold {run.fold.fold}",
                        "fold": run.fold.fold,
                        "split_definition": run.fold.definition,
                        "aligner": run.aligner,
                    }
                    for r in evaluate({Setting.FINE_TUNED: z}, all_y[test], clf)
                ]
    for r in rows:
        r.update(
            benchmark=bench,
            modality=spec.modality,
            prompt_set=PROMPT_SETS.get(Classifier(r["classifier"]), f"centres:k={s.k}:{s.centre_ranking}"),
        )
    table = EVALUATIONS.conform(pa.Table.from_pylist(rows, schema=EVALUATIONS.schema))
    EVALUATIONS.write(table, s.layout.evaluation(bench))
    headline = [r for r in rows if r["protocol"] == SplitProtocol.FIXED and r.get("aligner") in (None, s.aligner)]
    accuracy = {f"accuracy/{r['setting']}/{r['classifier']}": r["accuracy"] for r in headline}
    plots = alignment_plots(
        s.layout.results_dir / "plots",
        bench,
        test_x,
        aligned,
        test_y,
        clf.centres,
        clf.centre_class,
        s.layout.head_history(bench),
    )
    return StageResult(
        table_hash(table),
        {"n_test": len(test_y), "plots": [str(p) for p in plots.values()], "plot_preview": previews(plots)},
        metrics=accuracy,
        row_count=table.num_rows,
    )
