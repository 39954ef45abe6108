"""Model-side stages: centre localization, head fine-tuning, evaluation, the results table.

Each stage reads only the rows and columns it uses (tables.py contracts): descriptions stream one
class at a time, captions and features are read by kind and split into preallocated arrays.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from safetensors.torch import load_file, save_file

from unibind_core.benchmarks.manifest import ClassInfo
from unibind_core.centres import CENTRE_RANKINGS, ClassTexts, localize_centres
from unibind_core.checks import check_centres
from unibind_core.evaluate import Classifiers, evaluate, template_classifier
from unibind_core.heads import HeadConfig, apply_head, config_record, make_head, train_head
from unibind_core.errors import ConfigError
from unibind_core.io import INPUTS_KEY, SPACE_KEY, arrow_to_vectors, atomic_path, content_hash, file_hash, table_hash, write_bytes
from unibind_core.results import (
    balance_table,
    comparison_markdown,
    comparison_table,
    metrics_table,
    paper_results,
    plot_results,
    retrieval_summary,
    to_csv,
    to_markdown,
    wide_table,
    write_catalogue,
)
from unibind_core.settings import Settings
from unibind_core.stages import StageResult
from unibind_core.stages.common import artifact_version, is_current, read_classes, require_artifact, spec_of
from unibind_core.stages.provenance import reproducibility_record
from unibind_core.tables import (BALANCE, CENTRES, COMPARISON, EVALUATIONS, FEATURES, HEAD_HISTORY, RESULTS,
                                 RETRIEVAL, TEXT_EMBEDDINGS, Classifier, RowKind, Setting, Split, kind_is, split_is)
from unibind_core.templates import PROMPT_SETS


def split_features(s: Settings, bench: str, split: Split) -> tuple[pa.Table, np.ndarray]:
    """(sample_id + class_index rows, (N, D) frozen features) of one split, in manifest order."""
    return FEATURES.read_vectors(s.layout.features(bench), ("sample_id", "class_index"), split_is(split))


def text_vectors(s: Settings, bench: str, columns: tuple[str, ...], *kinds: RowKind) -> tuple[pa.Table, np.ndarray]:
    """Rows of the given kinds of the text-embeddings table and their (N, D) vectors."""
    return TEXT_EMBEDDINGS.read_vectors(s.layout.text_embeddings(bench), columns, kind_is(*kinds))


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
                                           "top_centre_per_class": {r["class_key"]: r["text"] for r in
                                                                    table.filter(pc.equal(table["rank"], 0)).to_pylist()}},
                       checks={"centres_valid": outcome}, row_count=table.num_rows,
                       metrics={"mean_score": float(pc.mean(table["score"]).as_py())})


def _centre_arrays(s: Settings, bench: str) -> tuple[np.ndarray, np.ndarray]:
    rows, vectors = CENTRES.read_vectors(s.layout.centres(bench), ("class_index",))
    return vectors, rows["class_index"].to_numpy()


def _head_config(s: Settings, bench: str) -> HeadConfig:
    t = spec_of(bench).train
    return HeadConfig(batch_size=t.batch_size, lr=t.lr, epochs=s.head_epochs or t.epochs, temperature=s.temperature)


def _caption_index(bench: str, sample_ids: pa.ChunkedArray, caption_ids: pa.ChunkedArray) -> np.ndarray:
    """(N,) row of each training sample's own caption in the caption vectors (joined by ID)."""
    pos = pc.index_in(sample_ids, value_set=caption_ids)
    if pos.null_count:
        first = sample_ids.filter(pc.is_null(pos))[0].as_py()
        raise ValueError(f"{bench}: {pos.null_count} training samples have no caption embedding (first {first!r})")
    return pos.to_numpy().astype(np.int64)


def stage_head(s: Settings, bench: str) -> StageResult:
    """Fine-tune the benchmark's head on cached features against its captions; keep the best on eval."""
    cfg = _head_config(s, bench)
    require_one_space(s, bench)
    lay = s.layout
    inputs = [contract.require(path) for contract, path in ((FEATURES, lay.features(bench)),
              (TEXT_EMBEDDINGS, lay.text_embeddings(bench)), (CENTRES, lay.centres(bench)))]
    key = content_hash(*map(artifact_version, inputs), json.dumps(config_record(cfg), sort_keys=True))
    out = lay.head(bench)
    if is_current(out, key):
        return StageResult(file_hash(out), {"path": str(out)}, reused=True)
    train_rows, train_x = split_features(s, bench, Split.TRAIN)
    captions, caption_vectors = text_vectors(s, bench, ("ID",), RowKind.CAPTION)
    text_index = _caption_index(bench, train_rows["sample_id"], captions["ID"])
    eval_rows, eval_x = split_features(s, bench, Split.EVAL)
    centres, centre_class = _centre_arrays(s, bench)
    head, history = train_head(train_x, caption_vectors, train_rows["class_index"].to_numpy(), eval_x,
                               eval_rows["class_index"].to_numpy(), centres, centre_class, cfg,
                               text_index=text_index, label=bench)
    with atomic_path(out) as tmp:
        save_file({k: v.contiguous() for k, v in head.state_dict().items()}, str(tmp),
                  metadata={INPUTS_KEY: key, "config": json.dumps(config_record(cfg))})
    HEAD_HISTORY.write(pa.Table.from_pylist(history), lay.head_history(bench))
    best = max(history, key=lambda r: r["eval_accuracy"])
    return StageResult(file_hash(out), {"path": str(out), "train_samples": len(train_x), "best_epoch": best["epoch"],
                                        "config": config_record(cfg)},
                       metrics={"eval_accuracy_best": best["eval_accuracy"],
                                "eval_accuracy_step0": history[0]["eval_accuracy"], "final_loss": history[-1]["loss"]})


def _classifiers(s: Settings, bench: str) -> Classifiers:
    rows, vec = text_vectors(s, bench, ("Category", "kind"), RowKind.TEMPLATE, RowKind.SINGLE_TEMPLATE)
    index = {c.key: c.index for c in read_classes(s, bench)}
    cls_of = np.array([index[k] for k in rows["Category"].to_pylist()], dtype=np.int64)
    kinds = np.asarray(rows["kind"].to_pylist())
    centres, centre_class = _centre_arrays(s, bench)
    tpl, one = kinds == RowKind.TEMPLATE, kinds == RowKind.SINGLE_TEMPLATE
    return Classifiers(template_classifier(vec[tpl], cls_of[tpl], len(index)),
                       template_classifier(vec[one], cls_of[one], len(index)), centres, centre_class)


def fine_tuned(s: Settings, bench: str, x: np.ndarray) -> np.ndarray:
    """(N, D) frozen features through the benchmark's trained head -> (N, D) unit vectors."""
    head = make_head(FEATURES.dim(s.layout.features(bench)), identity_init=False)
    head.load_state_dict(load_file(str(require_artifact(s.layout.head(bench), f"head of {bench}", "aligned_heads"))))
    return apply_head(head, x)


def stage_evaluation(s: Settings, bench: str) -> StageResult:
    spec = spec_of(bench)
    test_rows, test_x = split_features(s, bench, Split.TEST)
    test_y = test_rows["class_index"].to_numpy()
    rows = evaluate({Setting.ZERO_SHOT: test_x, Setting.FINE_TUNED: fine_tuned(s, bench, test_x)}, test_y,
                    _classifiers(s, bench))
    for r in rows:
        r.update(benchmark=bench, modality=spec.modality, split=str(Split.TEST),
                 prompt_set=PROMPT_SETS.get(Classifier(r["classifier"]), f"centres:k={s.k}:{s.centre_ranking}"))
    table = EVALUATIONS.conform(pa.Table.from_pylist(rows))
    EVALUATIONS.write(table, s.layout.evaluation(bench))
    accuracy = {f"accuracy/{r['setting']}/{r['classifier']}": r["accuracy"] for r in rows}
    return StageResult(table_hash(table), {"n_test": len(test_y)}, metrics=accuracy, row_count=table.num_rows)


def stage_results(s: Settings, benches: list[str]) -> StageResult:
    """One table across benchmarks (+ balance across modalities), ours beside the paper's numbers (CSV and
    markdown, with the reproducibility record), a plot, and the DuckDB catalogue."""
    lay = s.layout
    evals = pa.concat_tables([EVALUATIONS.read(lay.evaluation(b)) for b in benches])
    wide, balance = wide_table(evals), balance_table(evals)
    out = lay.results_dir
    EVALUATIONS.write(evals, out / "evaluations.parquet")
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
          + "\n\nRetrieval recall@k (test split):\n\n" + to_markdown(retrieval_summary(retrieval))
          + "\n\nBeside the paper (percent; paper_comparison.md has the reproducibility record):\n\n"
          + to_markdown(comparison.drop_columns(["note"]), digits=2))
    write_bytes((md + "\n").encode(), out / "results.md")
    plot = plot_results(wide, out / "results.png")
    views = {"kb": lay.kb("*"), "manifests": lay.manifest("*"), "centres": lay.centres("*"),
             "evaluations": out / "evaluations.parquet", "results": wide_path, "balance": balance_path,
             "retrieval": lay.retrieval, "paper_comparison": comparison_path}
    write_catalogue(lay.catalogue, {n: str(p) for n, p in views.items() if list(Path(p).parent.glob(Path(p).name))})
    preview = f"![results](data:image/png;base64,{base64.b64encode(plot.read_bytes()).decode()})"
    return StageResult(content_hash(table_hash(evals), table_hash(retrieval)),
                       {"markdown": md, "plot": str(plot), "plot_preview": preview, "catalogue": str(lay.catalogue),
                        "benchmarks": len(benches), "paper_comparison": str(out / "paper_comparison.csv"),
                        "git_commit": record["code"]["commit"]})
