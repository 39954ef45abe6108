"""The knowledge base (docs/method.md §1): one table per dataset with the paper's keys and our provenance.

Rows: category descriptions (`ID = cat:<class_key>:<n>`) and data captions (`ID = <sample_id>`).
Tables are rebuilt idempotently: a row whose ID and text are unchanged keeps its `created_at`, so
re-running a stage with the same inputs writes the same table (and the same data version).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from unibind_core.data.benchmarks.manifest import ClassInfo
from unibind_core.knowledge.describe import Describer, describe_all
from unibind_core.storage.io import text_hash
from unibind_core.storage.tables import KB_SCHEMA, KNOWLEDGE_BASE

CATEGORY_ID_PREFIX = "cat:"
MAX_CLIP_BPE_TOKENS = 75  # 77 positions minus start/end tokens (docs/method.md §1)


@lru_cache(maxsize=1)
def _clip_tokenizer():
    from open_clip.tokenizer import SimpleTokenizer  # ships the real CLIP BPE vocabulary

    return SimpleTokenizer()


_PLAIN = re.compile(r"[ -%'-~]*")  # printable ASCII without "&": CLIP's ftfy/HTML cleaning leaves it as is


@lru_cache(maxsize=1 << 16)
def _piece_tokens(piece: str) -> int:
    return len(_clip_tokenizer().bpe(piece).split(" "))


@lru_cache(maxsize=1 << 16)
def clip_token_count(text: str) -> int:
    """BPE tokens of `text` under the real CLIP tokenizer, start/end tokens excluded.

    Plain ASCII text (the usual LLM sentence) takes a fast exact path: CLIP's cleaning reduces to
    whitespace and case, printable ASCII bytes are their own BPE symbols, and the BPE of each regex piece
    is memoized, so 1,000 descriptions × thousands of categories are counted in seconds, not minutes."""
    tok = _clip_tokenizer()
    if _PLAIN.fullmatch(text):
        return sum(_piece_tokens(p) for p in tok.pat.findall(" ".join(text.split()).lower()))
    return len(tok.encode(text))


def fits_clip(text: str, limit: int = MAX_CLIP_BPE_TOKENS) -> bool:
    """Whether `text` is at most `limit` CLIP BPE tokens. Free for most sentences: CLIP's cleaning never
    lengthens ASCII text and every BPE token covers at least one non-space character."""
    if text.isascii() and len(text) - text.count(" ") <= limit:
        return True
    return clip_token_count(text) <= limit


def category_id(class_key: str, n: int) -> str:
    return f"{CATEGORY_ID_PREFIX}{class_key}:{n}"


def kb_rows(
    ids: Sequence[str],
    categories: Sequence[str],
    texts: Sequence[str],
    sources: Sequence[str],
    prompts: Sequence[str],
    dataset: str,
    modality: str,
) -> pa.Table:
    now = dt.datetime.now(dt.UTC)
    n = len(ids)
    return pa.table(
        {
            "ID": list(ids),
            "Category": list(categories),
            "Description": list(texts),
            "Source": list(sources),
            "dataset": [dataset] * n,
            "modality": [modality] * n,
            "prompt": list(prompts),
            "text_hash": [text_hash(t) for t in texts],
            "created_at": [now] * n,
        },
        schema=KB_SCHEMA,
    )


def describe_categories(
    describer: Describer, classes: Sequence[ClassInfo], noun: str, n: int, dataset: str, modality: str
) -> tuple[pa.Table, dict[str, int]]:
    """Descriptions of every class; the second value counts, per class, how many of the `n` are missing
    (over-long ones, CLIP limit, are dropped here as a last guard; LLM describers shorten them first)."""
    ids, cats, texts, prompts, dropped = [], [], [], [], {}
    described = describe_all(describer, classes, noun, n)
    for cls in classes:
        kept = [d for d in described.get(cls.key, [])[:n] if fits_clip(d.text)]
        dropped[cls.key] = n - len(kept)
        for i, d in enumerate(kept):
            ids.append(category_id(cls.key, i))
            cats.append(cls.key)
            texts.append(d.text)
            prompts.append(d.prompt)
    table = kb_rows(ids, cats, texts, [describer.source] * len(ids), prompts, dataset, modality)
    return table, dropped


def caption_table(
    sample_ids: Sequence[str],
    categories: Sequence[str],
    captions: Sequence[str],
    source: str,
    prompt: str,
    dataset: str,
    modality: str,
) -> pa.Table:
    return kb_rows(
        sample_ids, categories, captions, [source] * len(sample_ids), [prompt] * len(sample_ids), dataset, modality
    )


def carry_created_at(new: pa.Table, old: pa.Table | None) -> pa.Table:
    """Keep the old `created_at` of rows whose ID and text are unchanged (idempotent rewrites)."""
    if old is None or old.num_rows == 0:
        return new

    def key(t: pa.Table) -> pa.ChunkedArray:
        return pc.binary_join_element_wise(t["ID"], t["text_hash"], "\x1f")

    old_keys = key(old)
    idx = pc.index_in(key(new), value_set=old_keys)
    carried = pc.take(old["created_at"], idx)  # null where the row is new
    created = pc.coalesce(carried, new["created_at"])
    i = new.schema.get_field_index("created_at")
    return new.set_column(i, new.schema.field(i), created)


def merge_kb(descriptions: pa.Table, captions: pa.Table) -> pa.Table:
    """The dataset's knowledge base: both kinds of rows, sorted by ID."""
    return pa.concat_tables([descriptions.cast(KB_SCHEMA), captions.cast(KB_SCHEMA)]).sort_by("ID")


def is_category_row(table: pa.Table) -> pa.ChunkedArray:
    return pc.starts_with(table["ID"], CATEGORY_ID_PREFIX)


def read_kb_or_none(path: Path) -> pa.Table | None:
    """The previous rows at `path`, or None when absent or unreadable (a corrupt previous table only
    costs us its created_at values)."""
    try:
        return KNOWLEDGE_BASE.read(path)
    except (FileNotFoundError, ValueError):
        return None
