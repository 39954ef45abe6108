"""Every persisted table: its schema constant, the enums of its row kinds, and one typed reader/writer.

A `TableContract` writes a table conformed to its schema (columns in order, types cast, sorted by its
key) atomically, and reads it back with column projection and filter pushdown. Tables with a vector
column are sorted by their filter keys (e.g. text embeddings by `kind`, then `Category`) and written in
small row groups, so reading one kind of row skips the row groups of the others: a stage over a
million-row table reads only the vectors it uses (docs/architecture.md, "Tables").
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from unibind_core.io import INPUTS_KEY, atomic_path, vector_type, vectors_to_arrow


class Split(StrEnum):
    TRAIN = "train"
    EVAL = "eval"  # held out from train for checkpoint choice
    TEST = "test"


class RowKind(StrEnum):
    """Kinds of rows of the text-embeddings table."""

    DESCRIPTION = "description"  # an LLM category description (knowledge base, ID cat:<key>:<n>)
    CAPTION = "caption"  # a data caption of one training sample (knowledge base, ID = sample_id)
    TEMPLATE = "template"  # one of the 80 CLIP templates filled with a class name
    SINGLE_TEMPLATE = "single_template"  # "a {noun} of a {class}."


class Classifier(StrEnum):
    TEMPLATES = "templates"  # 80 CLIP templates averaged per class
    SINGLE_TEMPLATE = "single_template"
    CENTRES = "centres"  # UniBind embedding centres, arg-max over all C x K


class Task(StrEnum):
    CLASSIFICATION = "classification"
    RETRIEVAL = "retrieval"


class Setting(StrEnum):
    ZERO_SHOT = "zero-shot"  # frozen backbone features
    FINE_TUNED = "fine-tuned"  # features through the benchmark's trained head


class SplitProtocol(StrEnum):
    """Which samples a row was trained and scored on (docs/method.md §5, "Protocols")."""

    FIXED = "fixed"  # the reader's train / eval / test split (the headline numbers)
    CROSS_VALIDATION = "cross-validation"  # one run per official fold (protocols.FOLD_PROTOCOLS)
    ALL = "all"  # zero-shot over every sample of the benchmark (nothing is trained)


class Metric(StrEnum):
    """Metrics of the evaluation tables, defined as in LAION CLIP_benchmark (unibind_core/metrics.py)."""

    ACC1 = "acc@1"
    ACC5 = "acc@5"  # NaN when the classifier has fewer than 5 classes
    MEAN_PER_CLASS_RECALL = "mean_per_class_recall"  # balanced accuracy over the classes present
    RECALL_AT_1 = "recall@1"  # retrieval: a query is a hit when any positive is among the top k
    RECALL_AT_5 = "recall@5"
    RECALL_AT_10 = "recall@10"
    RECALL_AT_20 = "recall@20"


VECTOR = "vector"
UNIT_TOLERANCE = 1e-3  # |norm - 1| allowed for a stored unit vector (float32 round-off is ~1e-7)
# Streaming reads: Parquet pre-buffering and deep read-ahead would fetch every selected row group up
# front (measured: 5 GiB resident to stream 4 GiB of descriptions, against 0.7 GiB with these).
_STREAM = {"fragment_scan_options": ds.ParquetFragmentScanOptions(pre_buffer=False), "batch_readahead": 2,
           "fragment_readahead": 1}
_ANY_VECTOR = pa.list_(pa.float32())  # placeholder: sized as fixed_size_list<float32>[D] at write time


def _s(name: str, nullable: bool = False) -> pa.Field:
    return pa.field(name, pa.string(), nullable=nullable)


MANIFEST_SCHEMA = pa.schema([
    _s("sample_id"),
    _s("split"),  # Split
    pa.field("class_index", pa.int32(), nullable=False),
    _s("class_key"),  # stable key (ImageNet wnid, folder name)
    _s("class_name"),  # display name for prompts
    _s("path"),  # relative to the dataset root
    _s("paired_path", True),  # relative to the paired benchmark's root
    pa.field("box", pa.list_(pa.int32(), 4)),  # x0, y0, x1, y1 crop (detection-derived samples)
    _s("caption", True),  # a caption shipped with the data (demo world), else null
])
CLASSES_SCHEMA = pa.schema([pa.field("class_index", pa.int32(), nullable=False), _s("class_key"), _s("class_name")])
QUARANTINE_SCHEMA = pa.schema([_s("path"), _s("reason")])
KB_SCHEMA = pa.schema([
    _s("ID"),  # cat:<class_key>:<n> for category descriptions, the sample_id for captions
    _s("Category"),  # class key, never the display name
    _s("Description"),
    _s("Source"),  # template | llm:<model> | mllm:<model> | manifest
    _s("dataset"), _s("modality"), _s("prompt"), _s("text_hash"),
    pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
])
OVERRIDES_SCHEMA = pa.schema([_s("ID"), _s("Category"), _s("Description"), _s("Source")])  # a curator's edits


class OverrideAction(StrEnum):
    """What one row of a curated overrides table does to the knowledge base."""

    REPLACE = "replace"  # the ID is in the knowledge base: its Description (and Source) are replaced
    ADD = "add"  # a new category description, ID cat:<class_key>:<any name>
    REMOVE = "remove"  # an empty Description: the row with that ID is dropped


TEXT_EMBEDDINGS_SCHEMA = pa.schema([_s("ID"), _s("Category"), _s("kind"), _s("text"), _s("text_hash"),
                                    pa.field(VECTOR, _ANY_VECTOR)])  # kind: RowKind
TEXT_CACHE_SCHEMA = pa.schema([_s("text_hash"), pa.field(VECTOR, _ANY_VECTOR)])  # one shard of the text cache
FEATURES_SCHEMA = pa.schema([_s("sample_id"), _s("split"), pa.field("class_index", pa.int32(), nullable=False),
                             pa.field(VECTOR, _ANY_VECTOR)])
CENTRES_SCHEMA = pa.schema([
    pa.field("class_index", pa.int32()), _s("class_key"), pa.field("rank", pa.int32()),
    pa.field("k", pa.int32()),  # this class's number of centres (explicit: never assumed to be K)
    _s("ID"), _s("text"), pa.field("score", pa.float32()), pa.field(VECTOR, _ANY_VECTOR),
])
HEAD_HISTORY_SCHEMA = pa.schema([  # one row per evaluation of one training run
    _s("aligner"), _s("protocol"), pa.field("fold", pa.int64()),  # ALIGNERS name, SplitProtocol, test fold (CV)
    pa.field("epoch", pa.int64()), pa.field("step", pa.int64()),  # optimizer steps done (0: before training)
    pa.field("eval_accuracy", pa.float64()),
    pa.field("loss", pa.float64()),  # mean training loss since the previous evaluation
])
EVAL_SCHEMA = pa.schema([
    _s("benchmark", True), _s("modality", True), _s("setting", True),  # Setting
    _s("classifier", True),  # Classifier
    pa.field("accuracy", pa.float64()),  # acc@1 (Metric.ACC1), by the classifier's own top-1 rule
    pa.field("acc5", pa.float64()),  # Metric.ACC5: NaN with fewer than 5 classes
    pa.field("mean_per_class_recall", pa.float64()),  # Metric.MEAN_PER_CLASS_RECALL
    pa.field("n", pa.int64()), _s("split", True), _s("prompt_set", True),
    _s("metric_definition", True),  # the metrics' reference definitions (metrics.CLASSIFICATION_DEFINITION)
    _s("aligner", True),  # ALIGNERS name of the head (fine-tuned rows); null for zero-shot
    _s("protocol", True),  # SplitProtocol
    pa.field("fold", pa.int64()),  # the test fold of a cross-validation row, else null
    _s("split_definition", True),  # which folds / splits were train, eval and test
])
ALIGNER_COMPARISON_SCHEMA = pa.schema([  # the aligners side by side, per benchmark and protocol
    _s("benchmark"), _s("modality"), _s("protocol"), _s("aligner"),  # aligner "none": zero-shot
    _s("classifier"), pa.field("accuracy", pa.float64()),  # mean over folds (one run for fixed)
    pa.field("accuracy_std", pa.float64()),  # population std over folds (0 for one run)
    pa.field("mean_per_class_recall", pa.float64()), pa.field("runs", pa.int64()),
])
RETRIEVAL_SCHEMA = pa.schema([  # one row per (query -> gallery direction, setting, k)
    _s("query_benchmark"), _s("gallery_benchmark"), _s("query_modality"), _s("gallery_modality"),
    _s("setting"),  # Setting: zero-shot (backbone features) or fine-tuned (each side through its own head)
    _s("metric"), pa.field("k", pa.int32(), nullable=False),  # Metric (recall@k)
    pa.field("recall", pa.float64()),
    pa.field("n_queries", pa.int64()), pa.field("n_gallery", pa.int64()),  # queries: those with a positive
    pa.field("n_pairs", pa.int64()),  # positive (query, gallery) pairs
    _s("split"), _s("pairing"),  # how positives were found in the manifests
    _s("metric_definition"),  # metrics.RETRIEVAL_DEFINITION
])
RESULTS_SCHEMA = pa.schema([
    _s("benchmark", True), _s("modality", True), pa.field("zs_templates", pa.float64()),
    pa.field("zs_single", pa.float64()), pa.field("zs_centres", pa.float64()), pa.field("ft_centres", pa.float64()),
    pa.field("n_test", pa.int64()),
])
PAPER_RESULTS_SCHEMA = pa.schema([  # the paper's numbers, shipped as unibind_core/paper/results.tsv
    _s("benchmark"),  # a benchmark key, or "<query>-><gallery>" for retrieval
    _s("paper_label"), _s("paper_row"),  # the paper's column and row names ("IN-1K", "zero-shot UniBind")
    _s("setting"), _s("classifier", True),  # Setting, Classifier (null for retrieval): what "ours" is
    _s("metric"), pa.field("value", pa.float64(), nullable=False),  # Metric; percent
    _s("source"),
])
COMPARISON_SCHEMA = pa.schema([  # ours beside the paper's, one row per (benchmark, setting, classifier, metric)
    _s("benchmark"), _s("modality", True), _s("task"),  # Task
    _s("paper_row", True), _s("setting"), _s("classifier", True), _s("metric"),
    pa.field("ours", pa.float64()), pa.field("paper", pa.float64()),  # percent
    pa.field("difference", pa.float64()),  # ours - paper, percentage points
    _s("note", True),
])
BALANCE_SCHEMA = pa.schema([_s("setting", True), _s("classifier", True), pa.field("mean_accuracy", pa.float64()),
                            pa.field("min_accuracy", pa.float64()), pa.field("std_accuracy", pa.float64()),
                            pa.field("balance", pa.float64())])  # min / max accuracy across modalities


def _vectors(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A fixed_size_list<float32>[D] column (one chunk) -> (N, D) float32, without copying."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return column.flatten().to_numpy(zero_copy_only=False).reshape(-1, column.type.list_size)


def _unreadable(name: str, path: str | Path, exc: Exception) -> ValueError:
    return ValueError(f"{name} at {path} is unreadable ({exc}); delete it and re-materialize")


@dataclass(frozen=True)
class TableContract:
    name: str  # for messages: "text embeddings"
    schema: pa.Schema
    written_by: str  # the asset (and stage) that writes it: named when the table is missing
    sort_by: tuple[str, ...] = ()  # stable sort at write time: the keys readers filter or group on
    row_group_rows: int = 1 << 20  # vector tables use small groups so filters skip what they do not need
    unit_vectors: bool = False  # every vector is finite with norm 1: checked on every read

    def check_vectors(self, path: str | Path, vectors: np.ndarray, offset: int = 0) -> None:
        """Refuse (B, D) vectors holding a non-finite or non-unit one, naming the table, file and row
        (`offset`: the batch's first row in the file or read)."""
        if not self.unit_vectors or not len(vectors):
            return
        norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors, dtype=np.float64))
        bad = np.flatnonzero(~np.isfinite(norms) | (np.abs(norms - 1) > UNIT_TOLERANCE))
        if len(bad):
            i = int(bad[0])
            raise ValueError(f"{self.name} at {path}: {len(bad)} vectors of a batch are not finite unit vectors "
                             f"(first: row {offset + i}, norm {norms[i]:.4g}); re-materialize {self.written_by}")

    @property
    def has_vectors(self) -> bool:
        return VECTOR in self.schema.names

    def schema_for(self, dim: int | None) -> pa.Schema:
        if not self.has_vectors:
            return self.schema
        if dim is None:
            raise ValueError(f"{self.name}: the vector size is needed to write the table")
        i = self.schema.get_field_index(VECTOR)
        return self.schema.set(i, pa.field(VECTOR, vector_type(dim)))

    def conform(self, table: pa.Table) -> pa.Table:
        """Columns in schema order and types, sorted by the contract's key; missing columns are an error."""
        missing = [n for n in self.schema.names if n not in table.column_names]
        if missing:
            raise ValueError(f"{self.name}: the table lacks the column(s) {missing}")
        dim = table.schema.field(VECTOR).type.list_size if self.has_vectors else None
        table = table.select(self.schema.names).cast(self.schema_for(dim))
        if self.sort_by and table.num_rows:
            order = pc.sort_indices(table, [(k, "ascending") for k in self.sort_by])  # stable
            if not np.array_equal(order.to_numpy(), np.arange(table.num_rows)):  # already sorted: no copy
                table = table.take(order)
        return table

    def table(self, columns: dict, vectors: np.ndarray | None = None) -> pa.Table:
        """Build a conforming table from column values (and (N, D) vectors for the vector column)."""
        data = dict(columns)
        if vectors is not None:
            data[VECTOR] = vectors_to_arrow(vectors)
        return self.conform(pa.table(data))

    def write(self, table: pa.Table, path: str | Path, inputs_key: str | None = None,
              stamps: dict[str, str] | None = None) -> Path:
        """Conform and write atomically; `inputs_key` stamps what the table was computed from, `stamps`
        other facts about it (e.g. SPACE_KEY: the embedding space of its vectors)."""
        table = self.conform(table)
        if self.unit_vectors:  # chunk by chunk, without copying the vectors
            for chunk in table[VECTOR].chunks:
                self.check_vectors(path, _vectors(chunk))
        extra = {**(stamps or {}), **({INPUTS_KEY: inputs_key} if inputs_key is not None else {})}
        if extra:
            table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                                   **{k.encode(): v.encode() for k, v in extra.items()}})
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp, row_group_size=self.row_group_rows)
        return Path(path)

    def require(self, path: str | Path) -> Path:
        """`path` when it holds this table, else an error naming the asset to materialize first."""
        self.dataset(path)
        return Path(path)

    def dataset(self, path: str | Path) -> ds.Dataset:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{self.name} not found at {path}: materialize {self.written_by} first")
        try:
            return ds.dataset(path, format="parquet")
        except (pa.ArrowInvalid, OSError) as exc:
            raise _unreadable(self.name, path, exc) from exc

    def read(self, path: str | Path, columns: Sequence[str] | None = None, filter: pc.Expression | None = None
             ) -> pa.Table:
        """The rows matching `filter`, only `columns` (all when None)."""
        dataset = self.dataset(path)
        try:
            return dataset.to_table(columns=list(columns) if columns is not None else None, filter=filter)
        except (pa.ArrowInvalid, OSError) as exc:
            raise _unreadable(self.name, path, exc) from exc

    def batches(self, path: str | Path, columns: Sequence[str], filter: pc.Expression | None = None
                ) -> Iterator[pa.RecordBatch]:
        """The matching rows as record batches, streamed (one row group at a time, not pre-buffered)."""
        return self.dataset(path).to_batches(columns=list(columns), filter=filter, batch_size=self.row_group_rows,
                                             **_STREAM)

    def num_rows(self, path: str | Path) -> int:
        """Rows of the stored table, from the Parquet footer (no data read)."""
        self.dataset(path)
        return pq.read_metadata(path).num_rows

    def verify(self, path: str | Path) -> int:
        """Stream every stored vector through `check_vectors` (raises on the first bad batch); -> rows."""
        rows = 0
        for batch in self.batches(path, [VECTOR]):
            self.check_vectors(path, _vectors(batch.column(VECTOR)), rows)
            rows += batch.num_rows
        return rows

    def stamp(self, path: str | Path, key: str) -> str | None:
        """A fact `write` stamped on the stored table (None if absent)."""
        value = (self.dataset(path).schema.metadata or {}).get(key.encode())
        return value.decode() if value else None

    def dim(self, path: str | Path) -> int:
        return self.dataset(path).schema.field(VECTOR).type.list_size

    def read_vectors(self, path: str | Path, columns: Sequence[str] = (), filter: pc.Expression | None = None
                     ) -> tuple[pa.Table, np.ndarray]:
        """(rows of `columns`, (N, D) float32 vectors) of the rows matching `filter`.

        Streams row groups into one preallocated array: the peak is the result plus one batch, not the
        several copies a whole-table read and conversion would make."""
        dataset = self.dataset(path)
        n, dim = dataset.count_rows(filter=filter), self.dim(path)
        out = np.empty((n, dim), np.float32)
        batches, i = [], 0
        for batch in self.batches(path, [*columns, VECTOR], filter):
            m = batch.num_rows
            out[i:i + m] = _vectors(batch.column(VECTOR))
            self.check_vectors(path, out[i:i + m], i)
            batches.append(batch.select(list(columns)))
            i += m
        schema = pa.schema([dataset.schema.field(c) for c in columns])
        return pa.Table.from_batches(batches, schema=schema), out

    def groups(self, path: str | Path, key: str, columns: Sequence[str] = (), filter: pc.Expression | None = None
               ) -> Iterator[tuple[str, pa.Table, np.ndarray]]:
        """(key value, rows, (M, D) vectors) per run of equal `key`, streamed: one group in memory at a time.
        The table must be sorted by `key` among the filtered rows (the contract's sort order)."""
        cols = list(dict.fromkeys([key, *columns]))
        pending: list[pa.RecordBatch] = []
        seen: set[str] = set()

        def emit(batches: list[pa.RecordBatch]) -> tuple[str, pa.Table, np.ndarray]:
            table = pa.Table.from_batches(batches)
            value = table[key][0].as_py()
            if value in seen:
                raise ValueError(f"{self.name} at {path} is not sorted by {key!r}; re-materialize it")
            seen.add(value)
            vec = _vectors(table[VECTOR])
            self.check_vectors(path, vec)
            return value, table.select(cols), vec

        for batch in self.batches(path, [*cols, VECTOR], filter):
            if batch.num_rows == 0:
                continue
            keys = batch.column(key).to_numpy(zero_copy_only=False)
            cuts = np.flatnonzero(keys[1:] != keys[:-1]) + 1
            starts, ends = np.r_[0, cuts], np.r_[cuts, len(keys)]
            for s, e in zip(starts, ends):
                piece = batch.slice(s, e - s)
                if pending and pending[0].column(key)[0].as_py() != keys[s]:
                    yield emit(pending)
                    pending = []
                pending.append(piece)
        if pending:
            yield emit(pending)


def kind_is(*kinds: RowKind) -> pc.Expression:
    """Filter on the text-embeddings `kind` column (pushed down to Parquet row-group statistics)."""
    return pc.field("kind").isin([str(k) for k in kinds])


def split_is(split: Split) -> pc.Expression:
    return pc.field("split") == str(split)


MANIFEST = TableContract("manifest", MANIFEST_SCHEMA, "benchmark_manifest", sort_by=("sample_id",))
CLASSES = TableContract("class list", CLASSES_SCHEMA, "benchmark_manifest", sort_by=("class_index",))
QUARANTINE = TableContract("quarantine", QUARANTINE_SCHEMA, "benchmark_manifest")  # refused by the reader
DECODE_QUARANTINE = TableContract("decode quarantine", QUARANTINE_SCHEMA, "data_embeddings")  # failed to decode
DESCRIPTIONS = TableContract("category descriptions", KB_SCHEMA, "category_descriptions")  # describer order
CAPTIONS = TableContract("data captions", KB_SCHEMA, "data_captions")  # training-sample order
KNOWLEDGE_BASE = TableContract("knowledge base", KB_SCHEMA, "knowledge_base", sort_by=("ID",))  # both kinds of rows
CURATED_OVERRIDES = TableContract("curated overrides", OVERRIDES_SCHEMA, "you: curated/<benchmark>/descriptions.csv")
_VECTORS = {"row_group_rows": 8192, "unit_vectors": True}  # 32 MiB per row group at D = 1024
TEXT_EMBEDDINGS = TableContract("text embeddings", TEXT_EMBEDDINGS_SCHEMA, "kb_text_embeddings",
                                sort_by=("kind", "Category"), **_VECTORS)
TEXT_CACHE_SHARD = TableContract("text-embedding cache shard", TEXT_CACHE_SCHEMA, "kb_text_embeddings",
                                 sort_by=("text_hash",), **_VECTORS)
FEATURES = TableContract("features", FEATURES_SCHEMA, "data_embeddings", **_VECTORS)  # manifest (sample_id) order
CENTRES = TableContract("centres", CENTRES_SCHEMA, "embedding_centres", sort_by=("class_index", "rank"), **_VECTORS)
HEAD_HISTORY = TableContract("head history", HEAD_HISTORY_SCHEMA, "aligned_heads")
EVALUATIONS = TableContract("evaluations", EVAL_SCHEMA, "benchmark_evaluation")
RETRIEVAL = TableContract("retrieval", RETRIEVAL_SCHEMA, "retrieval_evaluation",
                          sort_by=("query_benchmark", "setting", "k"))
RESULTS = TableContract("results", RESULTS_SCHEMA, "results_table")
BALANCE = TableContract("balance", BALANCE_SCHEMA, "results_table")
PAPER_RESULTS = TableContract("paper results", PAPER_RESULTS_SCHEMA, "the package (unibind_core/paper/results.tsv)")
ALIGNER_COMPARISON = TableContract("aligner comparison", ALIGNER_COMPARISON_SCHEMA, "results_table")
COMPARISON = TableContract("results beside the paper", COMPARISON_SCHEMA, "results_table")  # comparison order
