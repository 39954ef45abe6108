"""Model-side stages: centre localization, head fine-tuning, evaluation, the results table.

Each stage reads only the rows and columns it uses (tables.py contracts): descriptions stream one
class at a time, captions and features are read by kind and split into preallocated arrays.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from unibind_core.aligners import ALIGNERS, AlignData, options_of
from unibind_core.aligners.store import embed, load_aligned, save_aligned
from unibind_core.benchmarks.manifest import ClassInfo
from unibind_core.centres import CENTRE_RANKINGS, ClassTexts, localize_centres
from unibind_core.checks import check_centres
from unibind_core.evaluate import Classifiers, evaluate, template_classifier
from unibind_core.errors import ConfigError
from unibind_core.heads import HeadConfig, config_record, fit
from unibind_core.io import SPACE_KEY, arrow_to_vectors, content_hash, file_hash, table_hash, write_bytes
from unibind_core.plots import alignment_plots, inline_png, previews
from unibind_core.results import (
    aligner_comparison,
    aligner_markdown,
    balance_table,
    comparison_markdown,
    comparison_table,
    metrics_table,
    paper_results,
    plot_results,
    retrieval_summary,
    to_csv,
    to_markdown,
    headline_rows,
    wide_table,
    write_catalogue,
)
from unibind_core.settings import Settings
from unibind_core.stages import StageResult
from unibind_core.code_versions import code_version
from unibind_core.stages.common import artifact_version, read_classes, require_artifact, reusable, spec_of
from unibind_core.stages.head_inputs import (HeadInputs, align_data, centre_arrays, split_features, text_vectors,
                                             uncaptioned)
from unibind_core.stages.partners import with_partner
from unibind_core.stages.provenance import reproducibility_record
from unibind_core.stages.runs import all_features, head_runs
from unibind_core.tables import (ALIGNER_COMPARISON, BALANCE, CENTRES, COMPARISON, EVALUATIONS, FEATURES, HEAD_HISTORY,
                                 RESULTS, RETRIEVAL, TEXT_EMBEDDINGS, Classifier, RowKind, Setting, Split, SplitProtocol,
                                 kind_is, split_is)
from unibind_core.templates import PROMPT_SETS
from unibind_core.torch_setup import resolve_device, resolve_dtype


class _StoredInputs:
    """RankingInputs over the stored tables: each is read only when a ranking strategy asks for it."""

    def __init__(self, s: Settings, bench: str, classes: list[ClassInfo]) -> None:
        self.s, self.bench = s, bench
        self.class_index = {c.key: c.index for c in classes}

    def train_features(self) -> tuple[np.ndarray, np.ndarray]:
        rows, x = split_features(self.s, self.bench, Split.TRAIN)
        return x, rows["class_index"].to_numpy()

    def prompt_vectors(self, kind: RowKind) -> tuple[list[str], np.ndarray]:
        rows, vectors = text_vectors(self.s, self.bench, ("Category",), kind)
        return rows["Category"].to_pylist(), vectors


def _description_stream(s: Settings, bench: str, index: dict[str, int], seen: set[str]):
    """ClassTexts per class, streamed from the table (sorted by kind, then Category)."""
    path = s.layout.text_embeddings(bench)
    for key, rows, vectors in TEXT_EMBEDDINGS.groups(path, "Category", ("ID", "text"), kind_is(RowKind.DESCRIPTION)):
        if key in index:  # descriptions of a category outside the class list are no candidates
            seen.add(key)
            yield ClassTexts(index[key], key, rows["ID"].to_pylist(), rows["text"].to_pylist(), vectors)


def require_one_space(s: Settings, bench: str) -> int:
    """Data features and text embeddings (hence centres) must come from one embedding space: the spaces
    they were stamped with when written must agree, and so must their sizes. ConfigError otherwise."""
    features, texts = s.layout.features(bench), s.layout.text_embeddings(bench)
    data_space, text_space = FEATURES.stamp(features, SPACE_KEY), TEXT_EMBEDDINGS.stamp(texts, SPACE_KEY)
    if data_space and text_space and data_space != text_space:
        raise ConfigError(f"{bench}: data features are in the space of {data_space!r} but text embeddings in the "
                          f"space of {text_space!r}: centres and classifiers would compare unrelated vectors. "
                          "Re-materialize kb_text_embeddings and features with one configuration (a benchmark's "
                          "texts are embedded by the text tower of the backbone that embeds its data)")
    data_dim, text_dim = FEATURES.dim(features), TEXT_EMBEDDINGS.dim(texts)
    if data_dim != text_dim:
        raise ConfigError(f"{bench}: data features have {data_dim} dimensions (backbone {s.backbone!r}) but text "
                          f"embeddings {text_dim} (text encoder {s.text_encoder!r}): they are not one embedding "
                          "space; configure a text tower of the backbone's space and re-materialize kb_text_embeddings")
    return data_dim


def stage_centres(s: Settings, bench: str) -> StageResult:
    dim = require_one_space(s, bench)
    classes = read_classes(s, bench)
    inputs = _StoredInputs(s, bench, classes)
    queries = CENTRE_RANKINGS[s.centre_ranking](inputs)
    # A class the ranking has no query for (data_mean: no training sample in this copy) is ranked label-free.
    label_free = [c for c in classes if c.index not in queries]
    if label_free:
        fallback = CENTRE_RANKINGS["label_free"](inputs)
        queries.update({c.index: fallback[c.index] for c in label_free if c.index in fallback})
    seen: set[str] = set()
    table = localize_centres(_description_stream(s, bench, inputs.class_index, seen), queries, s.k)
    missing = [c.key for c in classes if c.key not in seen]
    if missing:
        raise ValueError(f"{bench}: classes {missing[:5]} have no descriptions to localize centres from; nothing "
                         "was written")
    CENTRES.write(table, s.layout.centres(bench))
    vectors = arrow_to_vectors(table["vector"])
    k_per_class = {r["class_index"]: r["k"] for r in table.select(["class_index", "k"]).to_pylist()}
    outcome = check_centres(vectors, table["class_index"].to_numpy(), k_per_class, len(classes), s.k, dim)
    return StageResult(table_hash(table), {"centres": table.num_rows, "k": s.k, "ranking": s.centre_ranking,
                                           "ranked_label_free": [c.key for c in label_free],
                                           "top_centre_per_class": {r["class_key"]: r["text"] for r in
                                                                    table.filter(pc.equal(table["rank"], 0)).to_pylist()}},
                       checks={"centres_valid": outcome}, row_count=table.num_rows,
                       metrics={"mean_score": float(pc.mean(table["score"]).as_py())})


def _loop_config(s: Settings, bench: str) -> HeadConfig:
    """Table 1 batch / lr / epochs of the benchmark (TrainSpec), the configured device and eval cadence."""
    t = spec_of(bench).train
    return HeadConfig(batch_size=t.batch_size, lr=t.lr, epochs=s.head_epochs or t.epochs,
                      eval_every=s.alignment.eval_every, device=s.device, dtype=s.dtype)


def stage_head(s: Settings, bench: str) -> StageResult:
    """Train every configured aligner on the benchmark's fixed split (and on each official fold where it has
    them) on cached features; keep each one's best checkpoint on its eval split."""
    cfg = _loop_config(s, bench)
    require_one_space(s, bench)
    lay = s.layout
    inputs = [contract.require(path) for contract, path in ((FEATURES, lay.features(bench)),
              (TEXT_EMBEDDINGS, lay.text_embeddings(bench)), (CENTRES, lay.centres(bench)))]
    runs = head_runs(s, bench)
    aligners = {r: ALIGNERS.from_settings(r.aligner, s) for r in runs}
    shared = HeadInputs(s, bench, with_texts=any(a.uses_texts for a in aligners.values()))
    record = {"loop": config_record(cfg), "train_spec": asdict(spec_of(bench).train),
              "input_dtype": np.dtype(shared.dtype).name}
    partners = shared.partners if any(a.uses_partner for a in aligners.values()) else None
    partner_versions = [] if partners is None else [*map(artifact_version, partners.paths),
                                                     *(f"absent:{b}" for b in partners.missing)]
    keys = {r: content_hash(*map(artifact_version, inputs), json.dumps(record, sort_keys=True), r.aligner,
                            json.dumps(options_of(a), sort_keys=True), "" if r.fold is None else r.fold.definition,
                            *(partner_versions if a.uses_partner else []), code_version("heads"))
            for r, a in aligners.items()}
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
            extra.update(partners=",".join(partners.benchmarks), samples_with_partner=str(with_partners[run.label]),
                         partners_missing=",".join(partners.missing))
        save_aligned(run.path(s, bench), aligner, module, keys[run], extra)
        history += [{**r, "aligner": run.aligner, "protocol": str(run.protocol),
                     "fold": None if run.fold is None else run.fold.fold} for r in rows]
        if run.fold is None:
            best[run.aligner] = max(rows, key=lambda r: r["eval_accuracy"])
    HEAD_HISTORY.write(pa.Table.from_pylist(history, schema=HEAD_HISTORY.schema), lay.head_history(bench))
    partner_meta = {} if partners is None else {"partners": list(partners.benchmarks),
                                                "samples_with_partner": with_partners,
                                                "partners_missing": list(partners.missing)}
    primary = best[s.aligner]
    device = resolve_device(cfg.device)  # where fit() trained: the configured device, resolved
    return StageResult(file_hash(out), {"path": str(out), "aligners": s.aligner_names(), "heads": len(runs),
                                        "best_step": primary["step"], "config": record, "device": str(device),
                                        "dtype": str(resolve_dtype(cfg.dtype, device)).removeprefix("torch."),
                                        "train_without_caption": uncaptioned(shared), **partner_meta},
                       metrics={"eval_accuracy_best": primary["eval_accuracy"],
                                "eval_accuracy_step0": history[0]["eval_accuracy"],
                                **{f"eval_accuracy_best/{a}": r["eval_accuracy"] for a, r in best.items()}})


def benchmark_classifiers(s: Settings, bench: str) -> Classifiers:
    """A benchmark's classifiers as evaluation builds them (templates, single template, centres): also what
    `predict` and `export` score with, so their predictions equal the evaluation's."""
    rows, vec = text_vectors(s, bench, ("Category", "kind"), RowKind.TEMPLATE, RowKind.SINGLE_TEMPLATE)
    index = {c.key: c.index for c in read_classes(s, bench)}
    cls_of = np.array([index[k] for k in rows["Category"].to_pylist()], dtype=np.int64)
    kinds = np.asarray(rows["kind"].to_pylist())
    centres, centre_class = centre_arrays(s, bench)
    tpl, one = kinds == RowKind.TEMPLATE, kinds == RowKind.SINGLE_TEMPLATE
    return Classifiers(template_classifier(vec[tpl], cls_of[tpl], len(index)),
                       template_classifier(vec[one], cls_of[one], len(index)), centres, centre_class, s.device)


def through(s: Settings, bench: str, path: Path, x: np.ndarray) -> np.ndarray:
    _, module = load_aligned(require_artifact(path, f"head of {bench}", "aligned_heads"), x.shape[1])
    return embed(module, x)


def fine_tuned(s: Settings, bench: str, x: np.ndarray) -> np.ndarray:
    """(N, D) frozen features through the benchmark's primary head (whichever aligner trained it) -> (N, D)."""
    return through(s, bench, s.layout.head(bench), x)


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
            rows += [{**r, **fixed, "aligner": run.aligner}
                     for r in evaluate({Setting.FINE_TUNED: aligned[run.aligner]}, test_y, clf)]
    if any(run.fold is not None for run in runs):  # the benchmark is cross-validated
        all_rows, all_x, folds = all_features(s, bench)
        all_y = all_rows["class_index"].to_numpy()
        rows += [{**r, "protocol": str(SplitProtocol.ALL), "split": "all", "split_definition":
                  f"every sample ({len(all_y)}), nothing trained"} for r in evaluate({Setting.ZERO_SHOT: all_x}, all_y, clf)]
        for run in runs:
            if run.fold is not None:
                _, _, test = run.fold.masks(folds)
                z = through(s, bench, run.path(s, bench), all_x[test])
                rows += [{**r, "protocol": str(run.protocol), "split": f"fold {run.fold.fold}", "fold": run.fold.fold,
                          "split_definition": run.fold.definition, "aligner": run.aligner}
                         for r in evaluate({Setting.FINE_TUNED: z}, all_y[test], clf)]
    for r in rows:
        r.update(benchmark=bench, modality=spec.modality,
                 prompt_set=PROMPT_SETS.get(Classifier(r["classifier"]), f"centres:k={s.k}:{s.centre_ranking}"))
    table = EVALUATIONS.conform(pa.Table.from_pylist(rows, schema=EVALUATIONS.schema))
    EVALUATIONS.write(table, s.layout.evaluation(bench))
    headline = [r for r in rows if r["protocol"] == SplitProtocol.FIXED and r.get("aligner") in (None, s.aligner)]
    accuracy = {f"accuracy/{r['setting']}/{r['classifier']}": r["accuracy"] for r in headline}
    plots = alignment_plots(s.layout.results_dir / "plots", bench, test_x, aligned, test_y, clf.centres,
                            clf.centre_class, s.layout.head_history(bench))
    return StageResult(table_hash(table), {"n_test": len(test_y), "plots": [str(p) for p in plots.values()],
                                           "plot_preview": previews(plots)}, metrics=accuracy, row_count=table.num_rows)


def stage_results(s: Settings, benches: list[str]) -> StageResult:
    """One table across benchmarks (+ balance across modalities), ours beside the paper's numbers (CSV and
    markdown, with the reproducibility record), a plot, and the DuckDB catalogue."""
    lay = s.layout
    all_evals = pa.concat_tables([EVALUATIONS.read(lay.evaluation(b)) for b in benches])
    evals = headline_rows(all_evals, s.aligner)  # fixed split, the primary aligner: the paper's protocol
    wide, balance = wide_table(evals), balance_table(evals)
    out = lay.results_dir
    EVALUATIONS.write(all_evals, out / "evaluations.parquet")
    aligners = aligner_comparison(all_evals)
    ALIGNER_COMPARISON.write(aligners, out / "aligner_comparison.parquet")
    wide_path, balance_path = out / "results.parquet", out / "balance.parquet"
    RESULTS.write(wide, wide_path)
    BALANCE.write(balance, balance_path)
    retrieval = RETRIEVAL.read(lay.retrieval)
    comparison = comparison_table(evals, retrieval, paper_results(), benches)
    comparison_path = out / "paper_comparison.parquet"
    COMPARISON.write(comparison, comparison_path)
    write_bytes(to_csv(comparison), out / "paper_comparison.csv")
    record = reproducibility_record(s, benches)
    write_bytes((json.dumps(record, indent=2, sort_keys=True) + "\n").encode(), out / "reproducibility.json")
    write_bytes(comparison_markdown(comparison, record).encode(), out / "paper_comparison.md")
    md = (to_markdown(wide) + "\n\nBalance across modalities (min/max accuracy):\n\n" + to_markdown(balance)
          + "\n\nEvery metric (acc@1 = accuracy; clip_benchmark definitions):\n\n" + to_markdown(metrics_table(evals))
          + f"\n\nAligners side by side (top-1 with centres; primary {s.aligner!r}; cross-validation: mean ± std "
          "over the official folds):\n\n" + aligner_markdown(aligners)
          + "\n\nRetrieval recall@k (fixed test split; a cross-validated pair also per test fold and their mean):\n\n"
          + to_markdown(retrieval_summary(retrieval))
          + "\n\nBeside the paper (percent; paper_comparison.md has the reproducibility record):\n\n"
          + to_markdown(comparison.drop_columns(["note"]), digits=2))
    write_bytes((md + "\n").encode(), out / "results.md")
    plot = plot_results(wide, out / "results.png")
    views = {"kb": lay.kb("*"), "manifests": lay.manifest("*"), "centres": lay.centres("*"),
             "evaluations": out / "evaluations.parquet", "results": wide_path, "balance": balance_path,
             "retrieval": lay.retrieval, "paper_comparison": comparison_path,
             "aligner_comparison": out / "aligner_comparison.parquet"}
    write_catalogue(lay.catalogue, {n: str(p) for n, p in views.items() if list(Path(p).parent.glob(Path(p).name))})
    preview = inline_png("results", plot)
    return StageResult(content_hash(table_hash(all_evals), table_hash(retrieval)),
                       {"markdown": md, "plot": str(plot), "plot_preview": preview, "catalogue": str(lay.catalogue),
                        "benchmarks": len(benches), "paper_comparison": str(out / "paper_comparison.csv"),
                        "git_commit": record["code"]["commit"]})

