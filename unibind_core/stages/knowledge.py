"""Knowledge-side stages: category descriptions, data captions, the knowledge base, text embeddings (the
knowledge/ package at the stage layer: what it computes, read from and written to the stored tables)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from unibind_core.core.code_versions import code_version
from unibind_core.core.settings import Settings
from unibind_core.data.benchmarks.build import dataset_root
from unibind_core.data.benchmarks.manifest import DatasetLayoutError
from unibind_core.evaluation.checks import check_kb, check_vectors
from unibind_core.knowledge.captioners import CAPTIONERS, Captioner, CaptionJob, caption_prompt
from unibind_core.knowledge.curated import PROMPT_TEMPLATES, curated_kb, curated_templates
from unibind_core.knowledge.describe import build_describer, describer_report
from unibind_core.knowledge.kb import (
    carry_created_at,
    describe_categories,
    is_category_row,
    kb_rows,
    merge_kb,
    read_kb_or_none,
)
from unibind_core.knowledge.templates import single_template, template_texts
from unibind_core.knowledge.text_cache import embed_texts
from unibind_core.method.protocols import cross_validated
from unibind_core.stages import StageResult
from unibind_core.stages.common import (
    item_refresh,
    read_classes,
    read_manifest,
    reusable,
    spec_of,
    text_encoder,
    text_encoder_id,
)
from unibind_core.storage.io import SPACE_KEY, content_hash, file_hash, table_hash, text_hash
from unibind_core.storage.tables import (
    CAPTION_PROBLEMS_SCHEMA,
    CAPTION_QUARANTINE,
    CAPTIONS,
    DESCRIPTIONS,
    KB_SCHEMA,
    KNOWLEDGE_BASE,
    TEXT_EMBEDDINGS,
    RowKind,
    Split,
)

_STABLE = [c for c in KB_SCHEMA.names if c != "created_at"]  # the data version ignores write times


def _kb_version(table: pa.Table) -> str:
    return table_hash(table.select(_STABLE))


def stage_descriptions(s: Settings, bench: str) -> StageResult:
    """Descriptions of every category; an LLM describer's accounting (requests, tokens, cost, cache hits,
    flagged categories) joins the metadata. A category left with none stops the stage before writing."""
    spec, classes = spec_of(bench), read_classes(s, bench)
    describer = build_describer(s)
    table, dropped = describe_categories(
        describer, classes, spec.prompt_noun, s.descriptions_per_category, bench, spec.modality
    )
    report = describer_report(describer)
    empty = [c.key for c in classes if not dropped.get(c.key, 0) < s.descriptions_per_category]
    if empty:
        flags = {k: v for k, v in report.get("flagged", {}).items() if k in empty[:5]}
        raise ValueError(
            f"{bench}: no usable descriptions for categories {empty[:5]} "
            f"(describer {s.describer!r}{f'; flagged: {flags}' if flags else ''}); nothing was written"
        )
    out = s.layout.descriptions(bench)
    table = carry_created_at(table, read_kb_or_none(out))
    DESCRIPTIONS.write(table, out)
    counts = pc.value_counts(table["Category"]).to_pylist()
    return StageResult(
        _kb_version(table),
        {
            "rows": table.num_rows,
            "describer": describer.source,
            "per_category": {c["values"]: c["counts"] for c in counts},
            "missing": sum(dropped.values()),
            "preview": table["Description"].to_pylist()[:3],
            **report,
        },
        row_count=table.num_rows,
    )


def _caption_inputs(s: Settings, bench: str) -> tuple[CaptionJob, pa.Table]:
    """The rows to caption and where their files are. A benchmark cross-validated over official folds trains
    on every fold in turn, so each of its samples is captioned; others caption their train split."""
    spec, manifest = spec_of(bench), read_manifest(s, bench)
    rows = manifest if cross_validated(s, spec) else manifest.filter(pc.equal(manifest["split"], Split.TRAIN.value))
    root = dataset_root(spec, s.layout.datasets)
    try:  # paired_path is relative to the paired benchmark's root, else to the benchmark's own (LLVIP visible/)
        paired = dataset_root(spec_of(spec.paired_benchmark), s.layout.datasets) if spec.paired_benchmark else root
    except DatasetLayoutError:
        paired = None  # the paired dataset is absent: views fall back to renders of the data itself
    return CaptionJob(spec, root, paired), rows


def caption_rows(s: Settings, bench: str) -> int:
    """How many rows `stage_captions` captions (for fanning `captions_shard` out over workers)."""
    return _caption_inputs(s, bench)[1].num_rows


def captions_shard(s: Settings, bench: str, start: int, stop: int) -> dict:
    """Caption rows [start, stop) of `stage_captions`' selection into the captioner's cache, writing no table:
    shards run in parallel (one process or machine each), then `stage_captions` finds every row cached."""
    job, rows = _caption_inputs(s, bench)
    if stop > rows.num_rows or start >= stop or start < 0:
        raise ValueError(
            f"{bench}: rows [{start}, {stop}) are not a shard of its {rows.num_rows} samples to "
            "caption; re-plan the run"
        )
    part = rows.slice(start, stop - start)
    captioner = CAPTIONERS.from_settings(s.captioner, item_refresh(s, shard_step=True))
    captions = captioner.caption(part, job)
    report = getattr(captioner, "report", dict)()
    return {
        "bench": bench,
        "start": start,
        "stop": start + part.num_rows,
        "captioned": sum(c is not None for c in captions),
        **report,
    }


def _row_prompts(captioner: Captioner, job: CaptionJob, s: Settings, n: int) -> list[str]:
    """The prompt each row was captioned with (a view may rename the noun: a paired RGB frame is a photo)."""
    prompts = getattr(captioner, "prompts", None)
    return list(prompts) if prompts is not None else [caption_prompt(job.noun, s.caption.prompt)] * n


def stage_captions(s: Settings, bench: str) -> StageResult:
    """One caption per training sample (docs/method.md §1: data descriptions of the training data); a sample
    whose file is unreadable or whose answers were all unusable gets none and is quarantined with why."""
    job, rows = _caption_inputs(s, bench)
    captioner = CAPTIONERS.from_settings(s.captioner, item_refresh(s))
    captions = captioner.caption(rows, job)
    prompts = _row_prompts(captioner, job, s, rows.num_rows)
    problems = getattr(captioner, "quarantine", [])
    CAPTION_QUARANTINE.write(
        pa.Table.from_pylist(problems, CAPTION_PROBLEMS_SCHEMA), s.layout.caption_quarantine(bench)
    )
    keep = [i for i, c in enumerate(captions) if c is not None]
    if not keep and rows.num_rows:
        first = problems[0] if problems else {"sample_id": "-", "reason": "no caption"}
        raise ValueError(
            f"{bench}: no sample got a caption (captioner {s.captioner!r}; first: {first['sample_id']}: "
            f"{first['reason']}); nothing was written"
        )
    kept = rows.take(keep)
    table = kb_rows(
        kept["sample_id"].to_pylist(),
        kept["class_key"].to_pylist(),
        [captions[i] for i in keep],
        [captioner.source] * len(keep),
        [prompts[i] for i in keep],
        bench,
        job.spec.modality,
    )
    out = s.layout.captions(bench)
    table = carry_created_at(table, read_kb_or_none(out))
    CAPTIONS.write(table, out)
    return StageResult(
        _kb_version(table),
        {
            "rows": table.num_rows,
            "captioner": captioner.source,
            "unique_captions": pc.count_distinct(table["Description"]).as_py(),
            "without_caption": rows.num_rows - len(keep),
            "quarantine_preview": problems[:5],
            "preview": [captions[i] for i in keep[:3]],
            **getattr(captioner, "report", dict)(),
        },
        row_count=table.num_rows,
    )


def stage_kb(s: Settings, bench: str) -> StageResult:
    lay = s.layout
    keys = [c.key for c in read_classes(s, bench)]
    kb = merge_kb(DESCRIPTIONS.read(lay.descriptions(bench)), CAPTIONS.read(lay.captions(bench)))
    kb, curated = curated_kb(kb, lay, bench, keys)
    outcome = check_kb(kb, keys)
    KNOWLEDGE_BASE.write(
        kb, lay.kb(bench)
    )  # written even when invalid, for inspection; the blocking check stops downstream
    n_cat = pc.sum(is_category_row(kb)).as_py() or 0
    return StageResult(
        _kb_version(kb),
        {
            "rows": kb.num_rows,
            "category_rows": n_cat,
            "caption_rows": kb.num_rows - n_cat,
            "path": str(lay.kb(bench)),
            **curated,
        },
        checks={"kb_valid": outcome},
        row_count=kb.num_rows,
    )


def _prompt_rows(s: Settings, bench: str) -> tuple[list[str], list[str], list[RowKind], list[str]]:
    """Zero-shot prompts per class: the 80 CLIP templates and the single modality-aware template."""
    noun = spec_of(bench).prompt_noun
    curated = curated_templates(s.layout, bench)
    ids, cats, kinds, texts = [], [], [], []
    for c in read_classes(s, bench):
        filled = [t.replace("{}", c.name) for t in curated] if curated is not None else template_texts(c.name)
        for i, t in enumerate(filled):
            ids.append(f"tpl:{c.key}:{i}"), cats.append(c.key), kinds.append(RowKind.TEMPLATE), texts.append(t)
        ids.append(f"one:{c.key}"), cats.append(c.key), kinds.append(RowKind.SINGLE_TEMPLATE)
        texts.append(single_template(noun, c.name))
    return ids, cats, kinds, texts


def _text_rows(s: Settings, bench: str) -> tuple[pa.Table, str]:
    """Every knowledge-base text and zero-shot prompt (ID, Category, kind, text) in the table's order, and
    the key of the text embeddings computed from them."""
    kb = KNOWLEDGE_BASE.read(s.layout.kb(bench))
    p_ids, p_cats, p_kinds, p_texts = _prompt_rows(s, bench)
    kinds = np.where(np.asarray(is_category_row(kb)), RowKind.DESCRIPTION, RowKind.CAPTION).tolist()
    key = content_hash(_kb_version(kb), *p_texts, text_encoder_id(s, bench), code_version("text_embeddings"))
    rows = pa.table(
        {
            "ID": kb["ID"].to_pylist() + p_ids,
            "Category": kb["Category"].to_pylist() + p_cats,
            "kind": [str(k) for k in kinds + p_kinds],
            "text": kb["Description"].to_pylist() + p_texts,
        }
    )
    return rows.take(pc.sort_indices(rows, [(k, "ascending") for k in TEXT_EMBEDDINGS.sort_by])), key


def text_rows(s: Settings, bench: str) -> int:
    """Rows the text-embedding stage shards: its texts."""
    return _text_rows(s, bench)[0].num_rows


def text_embeddings_shard(s: Settings, bench: str, start: int, stop: int) -> dict:
    """Embed texts [start, stop) into the content-hash cache (a fan-out step); the stage then finds them there."""
    rows, key = _text_rows(s, bench)
    if stop > rows.num_rows or start >= stop or start < 0:
        raise ValueError(
            f"{bench}: rows [{start}, {stop}) are not a shard of its {rows.num_rows} texts; re-plan the run"
        )
    if reusable(s, s.layout.text_embeddings(bench), key):
        return {"rows": stop - start, "embedded_new": 0, "reason": "text embeddings already assembled"}
    _, report = embed_texts(
        rows["text"].slice(start, stop - start).to_pylist(),
        text_encoder(s, bench),
        s.layout.text_cache,
        s.shard_size,
        refresh=s.refresh,
    )
    return {"rows": stop - start, "embedded_new": report.embedded, "cache_hit_ratio": round(report.cache_hit_ratio, 4)}


def stage_text_embeddings(s: Settings, bench: str) -> StageResult:
    """Embed every knowledge-base text and zero-shot prompt; only texts never seen before hit the encoder
    (new vectors are cached every `shard_size` texts, so a killed run resumes)."""
    rows, key = _text_rows(s, bench)
    out = s.layout.text_embeddings(bench)
    if reusable(s, out, key):
        return StageResult(
            file_hash(out),
            {"path": str(out), "embedded_new": 0},
            reused=True,
            row_count=TEXT_EMBEDDINGS.num_rows(out),
            checks={"vectors_valid": check_vectors(TEXT_EMBEDDINGS, out)},
        )
    texts = rows["text"].to_pylist()
    encoder = text_encoder(s, bench)
    vectors, report = embed_texts(texts, encoder, s.layout.text_cache, s.shard_size, refresh=item_refresh(s).refresh)
    table = TEXT_EMBEDDINGS.table(
        {**{c: rows[c] for c in rows.column_names}, "text_hash": [text_hash(t) for t in texts]}, vectors
    )
    TEXT_EMBEDDINGS.write(table, out, inputs_key=key, stamps={SPACE_KEY: text_encoder_id(s, bench)})
    return StageResult(
        file_hash(out),
        {
            "path": str(out),
            "texts": report.texts,
            "unique_texts": report.unique,
            "embedded_new": report.embedded,
            "cache_hit_ratio": round(report.cache_hit_ratio, 4),
            "encoder": encoder.name,
            "dim": int(vectors.shape[1]),
            "curated_templates": PROMPT_TEMPLATES.version(s.layout, bench),
            "cache_shards_set_aside": list(report.set_aside),
        },
        checks={"vectors_valid": check_vectors(TEXT_EMBEDDINGS, out, encoder.dim, just_written=True)},
        row_count=table.num_rows,
    )
