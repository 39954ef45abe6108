"""`unibind search`: the nearest stored samples of indexed benchmarks to a text or a file, in the shared space.

Galleries are the embedding_index stage's indexes (unibind_core/stages/index.py: each benchmark's features,
through its head where it has one). A file query is decoded and embedded as its benchmark's files are and
passes through that benchmark's head when it has one (unibind_core/use/predict.py's functions), a text query
through the text tower of the gallery's space; so a sound can be searched against the image gallery.
A gallery of another embedding space than the query's is left out, with a note saying why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from unibind_core.core.errors import ConfigError
from unibind_core.core.settings import Settings
from unibind_core.data.benchmarks.build import dataset_root
from unibind_core.data.benchmarks.spec import BENCHMARKS, profile_benchmarks
from unibind_core.encoders.backbone.select import loader_options as view_options
from unibind_core.encoders.backbone.select import space_id, text_tower
from unibind_core.stages.index import indexed, load_gallery
from unibind_core.storage.io import SPACE_KEY
from unibind_core.storage.tables import FEATURES, SEARCH_HITS
from unibind_core.use.predict import decode_files, embed_decoded, require_benchmark
from unibind_core.use.search_index import on_device, search


@dataclass(frozen=True)
class Query:
    """(Q, D) unit vectors with a label each, the space they are in (None: a text, embedded per gallery)."""

    labels: list[str]
    vectors: np.ndarray | None
    space: str | None
    texts: list[str] | None = None


@dataclass(frozen=True)
class SearchResult:
    hits: pa.Table  # SEARCH_HITS rows, per query best first across the galleries searched
    notes: list[str]  # galleries left out and files that did not decode, one line each


def query_benchmark(s: Settings, modality: str) -> str:
    """The profile's first benchmark of `modality` with stored features: whose loader and head a file query uses."""
    for bench in profile_benchmarks(s.profile):
        if BENCHMARKS[bench].modality == modality and s.layout.features(bench).is_file():
            return bench
    raise ConfigError(f"no benchmark of modality {modality!r} with features in {s.data_root}: give --query-benchmark")


def file_query(s: Settings, bench: str, files: Sequence[Path]) -> tuple[Query, list[dict]]:
    """Files decoded with `bench`'s loader options, embedded by its backbone and through its head when it has
    one; -> (query, failures)."""
    spec = require_benchmark(bench)
    options = {**spec.loader_options, **view_options(s, spec.modality)}
    paths, inputs, failures = decode_files(spec.modality, options, files, f"search {bench}")
    head = s.layout.head(bench)
    x = (
        embed_decoded(s, spec.modality, options, inputs, head if head.is_file() else None)
        if paths
        else np.zeros((0, 1), np.float32)
    )
    return Query(paths, x, space_id(s, spec.modality)), failures


def text_query(texts: Sequence[str]) -> Query:
    return Query(list(texts), None, None, list(texts))


def search_galleries(s: Settings, query: Query, benches: Sequence[str] | None = None, k: int = 10) -> SearchResult:
    """The k nearest gallery samples of each query over `benches` (default: every indexed benchmark)."""
    if k < 1:
        raise ConfigError(f"k must be at least 1, got {k}")
    benches = list(benches or indexed(s))
    if not benches:
        raise FileNotFoundError(f"no benchmark is indexed under {s.data_root}: materialize embedding_index first")
    notes, parts = [], []
    for bench in benches if query.labels else []:
        spec = require_benchmark(bench)
        index, rows, facts = load_gallery(s, bench)
        space = facts.get("space") or FEATURES.stamp(s.layout.features(bench), SPACE_KEY)
        if query.texts is not None:
            q = text_tower(s, spec.modality).encode(query.texts).astype(np.float32)
        elif query.space is not None and space and space != query.space:
            notes.append(f"{bench} left out: its gallery is in the space of {space!r}, the query in {query.space!r}")
            continue
        else:
            q = query.vectors
        scores, found = search(on_device(index), q, k)
        root = dataset_root(spec, s.layout.datasets)
        for qi, label in enumerate(query.labels):
            for score, row in zip(scores[qi].tolist(), found[qi].tolist()):
                if row >= 0:
                    r = rows[row]
                    parts.append(
                        {
                            "query": label,
                            "benchmark": bench,
                            "modality": spec.modality,
                            "sample_id": r["sample_id"],
                            "class_name": r["class_name"],
                            "path": str(root / r["path"]),
                            "score": score,
                            "setting": facts["setting"],
                        }
                    )
    ranked = []
    for label in dict.fromkeys(query.labels):
        mine = sorted((p for p in parts if p["query"] == label), key=lambda p: -p["score"])[:k]
        ranked += [{**p, "rank": i} for i, p in enumerate(mine)]
    table = SEARCH_HITS.table({c: [r[c] for r in ranked] for c in SEARCH_HITS.schema.names})
    return SearchResult(table, notes)
