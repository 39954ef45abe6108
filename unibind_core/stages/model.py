"""Model-side stages: centre localization, head fine-tuning, evaluation, the results table."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from safetensors.torch import load_file, save_file

from unibind_core.centres import ClassTexts, class_queries, localize_centres
from unibind_core.checks import check_centres
from unibind_core.evaluate import EVAL_SCHEMA, Classifiers, evaluate, template_classifier
from unibind_core.heads import HeadConfig, apply_head, config_record, make_head, train_head
from unibind_core.io import (INPUTS_KEY, arrow_to_vectors, atomic_path, content_hash, file_hash, read_parquet,
                             table_hash, write_bytes, write_parquet)
from unibind_core.results import balance_table, plot_results, to_markdown, wide_table, write_catalogue
from unibind_core.settings import Settings
from unibind_core.stages import StageResult
from unibind_core.stages.common import is_current, read_classes, require_artifact, spec_of
from unibind_core.templates import PROMPT_SETS


def _embeddings(s: Settings, bench: str) -> pa.Table:
    return read_parquet(s.layout.text_embeddings(bench), f"text embeddings of {bench}")


def _features(s: Settings, bench: str) -> tuple[pa.Table, np.ndarray]:
    table = read_parquet(s.layout.features(bench), f"features of {bench}")
    return table, arrow_to_vectors(table["vector"])


def _split(table: pa.Table, vectors: np.ndarray, split: str) -> tuple[np.ndarray, np.ndarray, pa.Table]:
    mask = np.asarray(pc.equal(table["split"], split))
    return vectors[mask], table["class_index"].to_numpy()[mask], table.filter(pa.array(mask))


def stage_centres(s: Settings, bench: str) -> StageResult:
    classes = read_classes(s, bench)
    emb = _embeddings(s, bench)
    vec = arrow_to_vectors(emb["vector"])
    kinds, cats = np.asarray(emb["kind"]), np.asarray(emb["Category"])
    ids, texts = np.asarray(emb["ID"]), np.asarray(emb["text"])
    per_class = []
    for c in classes:
        m = (kinds == "description") & (cats == c.key)
        per_class.append(ClassTexts(c.index, c.key, ids[m].tolist(), texts[m].tolist(), vec[m]))
    if s.centre_ranking == "label_free":
        m = kinds == "single_template"
        queries = {next(c.index for c in classes if c.key == k): v for k, v in zip(cats[m], vec[m])}
    else:
        feats, x = _features(s, bench)
        train_x, train_y, _ = _split(feats, x, "train")
        queries = class_queries(train_x, train_y)
    table = localize_centres(per_class, queries, s.k, s.centre_ranking)
    write_parquet(table, s.layout.centres(bench))
    k_per_class = {r["class_index"]: r["k"] for r in table.select(["class_index", "k"]).to_pylist()}
    outcome = check_centres(arrow_to_vectors(table["vector"]), table["class_index"].to_numpy(), k_per_class,
                            len(classes), s.k, vec.shape[1])
    return StageResult(table_hash(table), {"centres": table.num_rows, "k": s.k, "ranking": s.centre_ranking,
                                           "mean_score": float(pc.mean(table["score"]).as_py()),
                                           "top_centre_per_class": {r["class_key"]: r["text"] for r in
                                                                    table.filter(pc.equal(table["rank"], 0)).to_pylist()}},
                       checks={"centres_valid": outcome})


def _centre_arrays(s: Settings, bench: str) -> tuple[np.ndarray, np.ndarray]:
    table = read_parquet(s.layout.centres(bench), f"centres of {bench}")
    return arrow_to_vectors(table["vector"]), table["class_index"].to_numpy()


def _head_config(s: Settings, bench: str) -> HeadConfig:
    t = spec_of(bench).train
    return HeadConfig(batch_size=t.batch_size, lr=t.lr, epochs=s.head_epochs or t.epochs, temperature=s.temperature)


def stage_head(s: Settings, bench: str) -> StageResult:
    """Fine-tune the benchmark's head on cached features against its captions; keep the best on eval."""
    cfg = _head_config(s, bench)
    lay = s.layout
    inputs = [require_artifact(p, f"{what} of {bench}") for p, what in ((lay.features(bench), "features"),
              (lay.text_embeddings(bench), "text embeddings"), (lay.centres(bench), "centres"))]
    key = content_hash(*map(file_hash, inputs), json.dumps(config_record(cfg), sort_keys=True))
    out = lay.head(bench)
    if is_current(out, key):
        return StageResult(file_hash(out), {"path": str(out)}, reused=True)
    feats, x = _features(s, bench)
    emb = _embeddings(s, bench)
    captions = emb.filter(pc.equal(emb["kind"], "caption"))
    cap_vec = dict(zip(captions["ID"].to_pylist(), arrow_to_vectors(captions["vector"])))
    train_x, train_y, train_rows = _split(feats, x, "train")
    missing = [i for i in train_rows["sample_id"].to_pylist() if i not in cap_vec]
    if missing:
        raise ValueError(f"{bench}: {len(missing)} training samples have no caption embedding (first {missing[0]!r})")
    train_t = np.stack([cap_vec[i] for i in train_rows["sample_id"].to_pylist()])
    eval_x, eval_y, _ = _split(feats, x, "eval")
    centres, centre_class = _centre_arrays(s, bench)
    head, history = train_head(train_x, train_t, train_y, eval_x, eval_y, centres, centre_class, cfg, s.progress)
    with atomic_path(out) as tmp:
        save_file({k: v.contiguous() for k, v in head.state_dict().items()}, str(tmp),
                  metadata={INPUTS_KEY: key, "config": json.dumps(config_record(cfg))})
    write_parquet(pa.Table.from_pylist(history), lay.head_history(bench))
    best = max(history, key=lambda r: r["eval_accuracy"])
    return StageResult(file_hash(out), {"path": str(out), "train_samples": len(train_x), "best_epoch": best["epoch"],
                                        "eval_accuracy_best": best["eval_accuracy"],
                                        "eval_accuracy_step0": history[0]["eval_accuracy"], "config": config_record(cfg)})


def _classifiers(s: Settings, bench: str) -> Classifiers:
    emb = _embeddings(s, bench)
    vec, kinds = arrow_to_vectors(emb["vector"]), np.asarray(emb["kind"])
    index = {c.key: c.index for c in read_classes(s, bench)}
    cls_of = np.array([index[k] for k in emb["Category"].to_pylist()])
    n = len(index)
    centres, centre_class = _centre_arrays(s, bench)
    tpl, one = kinds == "template", kinds == "single_template"
    return Classifiers(template_classifier(vec[tpl], cls_of[tpl], n), template_classifier(vec[one], cls_of[one], n),
                       centres, centre_class)


def stage_evaluation(s: Settings, bench: str) -> StageResult:
    spec = spec_of(bench)
    feats, x = _features(s, bench)
    test_x, test_y, _ = _split(feats, x, "test")
    head = make_head(x.shape[1], identity_init=False)
    head.load_state_dict(load_file(str(require_artifact(s.layout.head(bench), f"head of {bench}"))))
    rows = evaluate({"zero-shot": test_x, "fine-tuned": apply_head(head, test_x)}, test_y, _classifiers(s, bench))
    for r in rows:
        r.update(benchmark=bench, modality=spec.modality, split="test",
                 prompt_set=PROMPT_SETS.get(r["classifier"], f"centres:k={s.k}:{s.centre_ranking}"))
    table = pa.Table.from_pylist(rows, schema=EVAL_SCHEMA)
    write_parquet(table, s.layout.evaluation(bench))
    return StageResult(table_hash(table), {"accuracy": {f"{r['setting']}/{r['classifier']}": round(r["accuracy"], 4)
                                                        for r in rows}, "n_test": len(test_y)})


def stage_results(s: Settings, benches: list[str]) -> StageResult:
    """One table across benchmarks (+ balance across modalities), a plot, and the DuckDB catalogue."""
    lay = s.layout
    evals = pa.concat_tables([read_parquet(lay.evaluation(b), f"evaluation of {b}") for b in benches])
    wide, balance = wide_table(evals), balance_table(evals)
    out = lay.results_dir
    write_parquet(evals, out / "evaluations.parquet")
    write_parquet(wide, out / "results.parquet")
    write_parquet(balance, out / "balance.parquet")
    md = to_markdown(wide) + "\n\nBalance across modalities (min/max accuracy):\n\n" + to_markdown(balance)
    write_bytes((md + "\n").encode(), out / "results.md")
    plot = plot_results(wide, out / "results.png")
    views = {"kb": lay.kb("*"), "manifests": lay.manifest("*"), "centres": lay.centres("*"),
             "evaluations": out / "evaluations.parquet", "results": out / "results.parquet",
             "balance": out / "balance.parquet"}
    write_catalogue(lay.catalogue, {n: str(p) for n, p in views.items() if list(Path(p).parent.glob(Path(p).name))})
    preview = f"![results](data:image/png;base64,{base64.b64encode(plot.read_bytes()).decode()})"
    return StageResult(table_hash(evals), {"markdown": md, "plot": str(plot), "plot_preview": preview, "catalogue": str(lay.catalogue),
                                           "benchmarks": len(benches)})
