"""Where every artifact lives under the data root: one place, so assets, CLI and tests agree."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def datasets(self) -> Path:
        return self.root / "datasets"

    def manifest(self, bench: str) -> Path:
        return self.root / "manifests" / f"{bench}.parquet"

    def classes(self, bench: str) -> Path:
        return self.root / "manifests" / "classes" / f"{bench}.parquet"

    def quarantine(self, bench: str) -> Path:
        return self.root / "manifests" / "quarantine" / f"{bench}.parquet"

    def descriptions(self, bench: str) -> Path:
        return self.root / "kb" / "descriptions" / f"{bench}.parquet"

    def captions(self, bench: str) -> Path:
        return self.root / "kb" / "captions" / f"{bench}.parquet"

    def caption_quarantine(self, bench: str) -> Path:
        """Training samples left without a caption, and why (unreadable, flagged answers)."""
        return self.root / "kb" / "captions" / f"{bench}.quarantine.parquet"

    @property
    def caption_cache(self) -> Path:
        """Per-sample captions of every model captioner (append-only Parquet shards, one folder each)."""
        return self.root / "cache" / "captions"

    def kb(self, bench: str) -> Path:
        return self.root / "kb" / "tables" / f"{bench}.parquet"

    def curated(self, bench: str) -> Path:
        """A researcher's hand-curated inputs of one benchmark (unibind_core/knowledge/curated.py)."""
        return self.root / "curated" / bench

    def text_embeddings(self, bench: str) -> Path:
        return self.root / "embeddings" / f"{bench}.parquet"

    @property
    def text_cache(self) -> Path:
        return self.root / "cache" / "text"

    @property
    def llm_cache(self) -> Path:
        """Every answered LLM request and Batch API job (SQLite): what makes description runs resumable."""
        return self.root / "cache" / "llm" / "responses.sqlite"

    @property
    def input_cache(self) -> Path:
        return self.root / "cache" / "inputs"

    @property
    def backbone(self) -> Path:
        return self.root / "backbone" / "demo.safetensors"

    def features(self, bench: str) -> Path:
        return self.root / "features" / f"{bench}.parquet"

    def shards(self, stage: str, bench: str) -> Path:
        """Completed shards of a stage still being assembled (unibind_core/storage/shards.py); removed once it is."""
        return self.root / "cache" / "shards" / stage / bench

    def decode_quarantine(self, bench: str) -> Path:
        """Samples the manifest listed but whose files failed to decode (the features stage's quarantine)."""
        return self.root / "features" / f"{bench}.quarantine.parquet"

    def centres(self, bench: str) -> Path:
        return self.root / "centres" / f"{bench}.parquet"

    def head(self, bench: str) -> Path:
        return self.root / "heads" / f"{bench}.safetensors"

    def head_history(self, bench: str) -> Path:
        return self.root / "heads" / f"{bench}.history.parquet"

    def evaluation(self, bench: str) -> Path:
        return self.root / "eval" / f"{bench}.parquet"

    @property
    def retrieval(self) -> Path:
        """Cross-modal retrieval recall@k of every paired benchmark of the profile (one table)."""
        return self.root / "eval" / "retrieval" / "recall.parquet"

    @property
    def results_dir(self) -> Path:
        return self.root / "results"

    @property
    def catalogue(self) -> Path:
        return self.root / "catalogue.duckdb"

    @property
    def external_work(self) -> Path:
        """Work folders of external-environment launches (unibind_core/encoders/external): removed after success."""
        return self.root / "cache" / "external"
