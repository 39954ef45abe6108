"""The embedding_index stage: a FAISS index over a benchmark's stored features, through its primary head
when it has one, so `unibind search` queries galleries in the aligned space (unibind_core/use/search_index.py)."""

from __future__ import annotations

import json
from pathlib import Path

import faiss

from unibind_core.core.code_versions import code_version
from unibind_core.core.settings import Settings
from unibind_core.stages import StageResult
from unibind_core.stages.common import artifact_version, read_manifest, reusable
from unibind_core.storage.io import SPACE_KEY, atomic_path, content_hash, file_hash
from unibind_core.storage.tables import FEATURES, GALLERY, Setting
from unibind_core.use.search_index import IndexConfig, build_index, config_record, recall_vs_exact

SETTING_KEY = "unibind.setting"  # stamp on the gallery rows: which vectors the index holds
FACTS_KEY = "unibind.index"  # stamp: the index's kind, parameters and recall against exact search
RECALL_K = 10


def index_files(s: Settings, bench: str) -> tuple[Path, Path]:
    """(FAISS index, GALLERY rows) of the benchmark, under <data root>/index/."""
    folder = Path(s.data_root) / "index"
    return folder / f"{bench}.faiss", folder / f"{bench}.rows.parquet"


def stage_index(s: Settings, bench: str, cfg: IndexConfig | None = None) -> StageResult:
    """Index every stored feature of the benchmark (fine-tuned where its head exists, else frozen);
    kept when its inputs (features, head, index options) are unchanged."""
    from unibind_core.stages.heads import fine_tuned

    cfg = cfg or s.index

    features, head = FEATURES.require(s.layout.features(bench)), s.layout.head(bench)
    setting = Setting.FINE_TUNED if head.is_file() else Setting.ZERO_SHOT
    key = content_hash(
        artifact_version(features),
        artifact_version(head) if head.is_file() else "none",
        json.dumps(config_record(cfg), sort_keys=True),
        code_version("index"),
    )
    index_path, rows_path = index_files(s, bench)
    if reusable(s, rows_path, key) and index_path.is_file():
        facts = json.loads(GALLERY.stamp(rows_path, FACTS_KEY) or "{}")
        return StageResult(
            file_hash(index_path),
            {"path": str(index_path), **facts},
            reused=True,
            row_count=GALLERY.num_rows(rows_path),
        )
    rows, x = FEATURES.read_vectors(features, ("sample_id", "split", "class_index"))
    if setting is Setting.FINE_TUNED:
        x = fine_tuned(s, bench, x)
    index, facts = build_index(x, cfg)
    facts = {
        **facts,
        "setting": str(setting),
        f"recall@{RECALL_K}_vs_exact": recall_vs_exact(index, x, RECALL_K),
        "vectors": len(x),
        "dim": int(x.shape[1]),
        "options": config_record(cfg),
    }
    manifest = read_manifest(s, bench).select(["sample_id", "class_name", "path"]).to_pylist()
    by_id = {r["sample_id"]: r for r in manifest}
    ids = rows["sample_id"].to_pylist()
    with atomic_path(index_path) as tmp:
        faiss.write_index(index, str(tmp))
    GALLERY.write(
        GALLERY.table(
            {
                "sample_id": ids,
                "split": rows["split"],
                "class_index": rows["class_index"],
                "class_name": [by_id[i]["class_name"] for i in ids],
                "path": [by_id[i]["path"] for i in ids],
            }
        ),
        rows_path,
        inputs_key=key,
        stamps={
            SETTING_KEY: str(setting),
            FACTS_KEY: json.dumps(facts, sort_keys=True),
            SPACE_KEY: FEATURES.stamp(features, SPACE_KEY) or "",
        },
    )
    return StageResult(
        file_hash(index_path),
        {"path": str(index_path), **facts},
        row_count=len(ids),
        metrics={f"recall@{RECALL_K}_vs_exact": facts[f"recall@{RECALL_K}_vs_exact"]},
    )


def load_gallery(s: Settings, bench: str) -> tuple[faiss.Index, list[dict], dict]:
    """(index, its rows, its facts + setting + space) of an indexed benchmark; an error names the asset."""
    index_path, rows_path = index_files(s, bench)
    if not index_path.is_file():
        raise FileNotFoundError(f"no index of {bench} at {index_path}: materialize embedding_index first")
    facts = json.loads(GALLERY.stamp(GALLERY.require(rows_path), FACTS_KEY) or "{}")
    facts["space"] = GALLERY.stamp(rows_path, SPACE_KEY)
    return faiss.read_index(str(index_path)), GALLERY.read(rows_path).to_pylist(), facts


def indexed(s: Settings) -> list[str]:
    """Benchmarks with an index under the data root, sorted."""
    folder = Path(s.data_root) / "index"
    return sorted(p.name.removesuffix(".faiss") for p in folder.glob("*.faiss")) if folder.is_dir() else []
