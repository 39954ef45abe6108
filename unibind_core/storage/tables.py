"""Every persisted table: its schema constant, the enums of its row kinds, and its `TableContract`
(unibind_core/storage/table_contract.py: the typed reader/writer). Tables with a vector column are sorted by
their filter keys (e.g. text embeddings by `kind`, then `Category`) and written in small row groups, so
a stage over a million-row table reads only the vectors it uses (docs/architecture.md, "Tables").
"""

from __future__ import annotations

from enum import StrEnum

import pyarrow as pa
import pyarrow.compute as pc

from unibind_core.storage.table_contract import UNIT_TOLERANCE, VECTOR, TableContract  # noqa: F401  (re-exported)


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


class InputKind(StrEnum):
    """Kinds of rows of the table `unibind embed` writes."""

    FILE = "file"  # a file decoded by its modality's loader and embedded by the backbone
    TEXT = "text"  # a text embedded by the backbone's text tower


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
    """Metrics of the evaluation tables, defined as in LAION CLIP_benchmark (unibind_core/evaluation/metrics.py)."""

    ACC1 = "acc@1"
    ACC5 = "acc@5"  # NaN when the classifier has fewer than 5 classes
    MEAN_PER_CLASS_RECALL = "mean_per_class_recall"  # balanced accuracy over the classes present
    RECALL_AT_1 = "recall@1"  # retrieval: a query is a hit when any positive is among the top k
    RECALL_AT_5 = "recall@5"
    RECALL_AT_10 = "recall@10"
    RECALL_AT_20 = "recall@20"


class CaptionStatus(StrEnum):
    """What the caption cache holds for one (sample, captioner, prompt, view)."""

    OK = "ok"  # a usable caption, fitted to 75 CLIP BPE tokens
    FLAGGED = "flagged"  # every allowed answer was unusable (empty, prompt echo, refusal): never a description


class CaptionProblem(StrEnum):
    """Why a training sample has no caption (the captions quarantine)."""

    UNREADABLE = "unreadable"  # its file (or paired frame) could not be read or rendered
    FLAGGED = "flagged"  # CaptionStatus.FLAGGED


_ANY_VECTOR = pa.list_(pa.float32())  # placeholder: sized as fixed_size_list<float32>[D] at write time


def _s(name: str, nullable: bool = False) -> pa.Field:
    return pa.field(name, pa.string(), nullable=nullable)


MANIFEST_SCHEMA = pa.schema(
    [
        _s("sample_id"),
        _s("split"),  # Split
        pa.field("class_index", pa.int32(), nullable=False),
        _s("class_key"),  # stable key (ImageNet wnid, folder name)
        _s("class_name"),  # display name for prompts
        _s("path"),  # relative to the dataset root
        _s("paired_path", True),  # relative to the paired benchmark's root
        pa.field("box", pa.list_(pa.int32(), 4)),  # x0, y0, x1, y1 crop (detection-derived samples)
        _s("caption", True),  # a caption shipped with the data (demo world), else null
    ]
)
CLASSES_SCHEMA = pa.schema(
    [
        pa.field("class_index", pa.int32(), nullable=False),
        _s("class_key"),
        _s("class_name"),
        pa.field("dataset_index", pa.int32()),
    ]
)  # 0..C-1, and the reader's own number (dense)
QUARANTINE_SCHEMA = pa.schema([_s("path"), _s("reason")])
KB_SCHEMA = pa.schema(
    [
        _s("ID"),  # cat:<class_key>:<n> for category descriptions, the sample_id for captions
        _s("Category"),  # class key, never the display name
        _s("Description"),
        _s("Source"),  # template | llm:<model> | mllm:<model> | manifest
        _s("dataset"),
        _s("modality"),
        _s("prompt"),
        _s("text_hash"),
        pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)
OVERRIDES_SCHEMA = pa.schema([_s("ID"), _s("Category"), _s("Description"), _s("Source")])  # a curator's edits


class OverrideAction(StrEnum):
    """What one row of a curated overrides table does to the knowledge base."""

    REPLACE = "replace"  # the ID is in the knowledge base: its Description (and Source) are replaced
    ADD = "add"  # a new category description, ID cat:<class_key>:<any name>
    REMOVE = "remove"  # an empty Description: the row with that ID is dropped


TEXT_EMBEDDINGS_SCHEMA = pa.schema(
    [_s("ID"), _s("Category"), _s("kind"), _s("text"), _s("text_hash"), pa.field(VECTOR, _ANY_VECTOR)]
)  # kind: RowKind
TEXT_CACHE_SCHEMA = pa.schema([_s("text_hash"), pa.field(VECTOR, _ANY_VECTOR)])  # one shard of the text cache
EMBEDDED_SCHEMA = pa.schema(
    [  # `unibind embed`: one row per input, in the order given
        _s("kind"),
        _s("path", True),
        _s("text", True),  # kind: InputKind; path for a file, text for a text
        _s("modality", True),
        _s("backbone"),  # the backbone id (the embedding space)
        pa.field(VECTOR, _ANY_VECTOR),
    ]
)
FEATURES_SCHEMA = pa.schema(
    [_s("sample_id"), _s("split"), pa.field("class_index", pa.int32(), nullable=False), pa.field(VECTOR, _ANY_VECTOR)]
)
CENTRES_SCHEMA = pa.schema(
    [
        pa.field("class_index", pa.int32()),
        _s("class_key"),
        pa.field("rank", pa.int32()),
        pa.field("k", pa.int32()),  # this class's number of centres (explicit: never assumed to be K)
        _s("ID"),
        _s("text"),
        pa.field("score", pa.float32()),
        pa.field(VECTOR, _ANY_VECTOR),
    ]
)
HEAD_HISTORY_SCHEMA = pa.schema(
    [  # one row per evaluation of one training run
        _s("aligner"),
        _s("protocol"),
        pa.field("fold", pa.int64()),  # ALIGNERS name, SplitProtocol, test fold (CV)
        pa.field("epoch", pa.int64()),
        pa.field("step", pa.int64()),  # optimizer steps done (0: before training)
        pa.field("eval_accuracy", pa.float64()),
        pa.field("loss", pa.float64()),  # mean training loss since the previous evaluation
    ]
)
EVAL_SCHEMA = pa.schema(
    [
        _s("benchmark", True),
        _s("modality", True),
        _s("setting", True),  # Setting
        _s("classifier", True),  # Classifier
        pa.field("accuracy", pa.float64()),  # acc@1 (Metric.ACC1), by the classifier's own top-1 rule
        pa.field("acc5", pa.float64()),  # Metric.ACC5: NaN with fewer than 5 classes
        pa.field("mean_per_class_recall", pa.float64()),  # Metric.MEAN_PER_CLASS_RECALL
        pa.field("n", pa.int64()),
        _s("split", True),
        _s("prompt_set", True),
        _s("metric_definition", True),  # the metrics' reference definitions (metrics.CLASSIFICATION_DEFINITION)
        _s("aligner", True),  # ALIGNERS name of the head (fine-tuned rows); null for zero-shot
        _s("protocol", True),  # SplitProtocol
        pa.field("fold", pa.int64()),  # the test fold of a cross-validation row, else null
        _s("split_definition", True),  # which folds / splits were train, eval and test
    ]
)
ALIGNER_COMPARISON_SCHEMA = pa.schema(
    [  # the aligners side by side, per benchmark and protocol
        _s("benchmark"),
        _s("modality"),
        _s("protocol"),
        _s("aligner"),  # aligner "none": zero-shot
        _s("classifier"),
        pa.field("accuracy", pa.float64()),  # mean over folds (one run for fixed)
        pa.field("accuracy_std", pa.float64()),  # population std over folds (0 for one run)
        pa.field("mean_per_class_recall", pa.float64()),
        pa.field("runs", pa.int64()),
    ]
)
RETRIEVAL_SCHEMA = pa.schema(
    [  # one row per (query -> gallery direction, setting, k)
        _s("query_benchmark"),
        _s("gallery_benchmark"),
        _s("query_modality"),
        _s("gallery_modality"),
        _s("setting"),  # Setting: zero-shot (backbone features) or fine-tuned (each side through its own head)
        _s("metric"),
        pa.field("k", pa.int32(), nullable=False),  # Metric (recall@k)
        pa.field("recall", pa.float64()),
        pa.field("n_queries", pa.int64()),
        pa.field("n_gallery", pa.int64()),  # queries: those with a positive
        pa.field("n_pairs", pa.int64()),  # positive (query, gallery) pairs
        _s("split"),
        _s("pairing"),  # how positives were found in the manifests
        _s("metric_definition"),  # metrics.RETRIEVAL_DEFINITION
        _s("protocol", True),  # SplitProtocol: fixed, or cross-validation (per test fold, and their mean: fold null)
        pa.field("fold", pa.int64()),  # the test fold of a per-fold row, else null
        _s("split_definition", True),  # which folds / splits were train, eval and test
    ]
)
RESULTS_SCHEMA = pa.schema(
    [
        _s("benchmark", True),
        _s("modality", True),
        pa.field("zs_templates", pa.float64()),
        pa.field("zs_single", pa.float64()),
        pa.field("zs_centres", pa.float64()),
        pa.field("ft_centres", pa.float64()),
        pa.field("n_test", pa.int64()),
    ]
)
PAPER_RESULTS_SCHEMA = pa.schema(
    [  # the paper's numbers, shipped as unibind_core/evaluation/paper/results.tsv
        _s("benchmark"),  # a benchmark key, or "<query>-><gallery>" for retrieval
        _s("paper_label"),
        _s("paper_row"),  # the paper's column and row names ("IN-1K", "zero-shot UniBind")
        _s("setting"),
        _s("classifier", True),  # Setting, Classifier (null for retrieval): what "ours" is
        _s("metric"),
        pa.field("value", pa.float64(), nullable=False),  # Metric; percent
        _s("source"),
    ]
)
COMPARISON_SCHEMA = pa.schema(
    [  # ours beside the paper's, one row per (benchmark, setting, classifier, metric)
        _s("benchmark"),
        _s("modality", True),
        _s("task"),  # Task
        _s("paper_row", True),
        _s("setting"),
        _s("classifier", True),
        _s("metric"),
        pa.field("ours", pa.float64()),
        pa.field("paper", pa.float64()),  # percent
        pa.field("difference", pa.float64()),  # ours - paper, percentage points
        _s("note", True),
    ]
)
CAPTION_CACHE_SCHEMA = pa.schema(
    [  # one shard of the caption cache: one row per answered sample
        _s("key"),  # content_hash(sample_hash, captioner id, prompt, view id)
        _s("sample_hash"),
        _s("captioner"),
        _s("view"),
        _s("prompt"),
        _s("status"),  # CaptionStatus
        _s("caption", True),
        _s("reason", True),  # the caption (ok) or why there is none (flagged)
        pa.field("attempts", pa.int32()),
        pa.field("shortened", pa.bool_()),
        pa.field("tokens_in", pa.int64()),
        pa.field("tokens_out", pa.int64()),
    ]
)
CAPTION_PROBLEMS_SCHEMA = pa.schema([_s("sample_id"), _s("path"), _s("kind"), _s("reason")])  # kind: CaptionProblem
PREDICTIONS_SCHEMA = pa.schema(
    [  # `unibind predict`: one row per (file, rank), ranks 0..top_k-1 by score
        _s("path"),
        pa.field("rank", pa.int32(), nullable=False),
        pa.field("class_index", pa.int32(), nullable=False),
        _s("class_key"),
        _s("class_name"),
        pa.field("score", pa.float64()),  # the classifier's class score (centres: max_k cos(x, z_c^k))
        _s("benchmark"),
        _s("setting"),
        _s("classifier"),  # Setting, Classifier
    ]
)
CLASS_VECTORS_SCHEMA = pa.schema(
    [  # an exported model's template classifiers: one (D,) vector per (kind, class)
        _s("kind"),
        pa.field("class_index", pa.int32(), nullable=False),  # kind: Classifier (templates, single_template)
        pa.field(VECTOR, _ANY_VECTOR),
    ]
)
GALLERY_SCHEMA = pa.schema(
    [  # embedding_index: row i of a benchmark's FAISS index is row i here
        _s("sample_id"),
        _s("split"),
        pa.field("class_index", pa.int32(), nullable=False),
        _s("class_name"),
        _s("path"),  # relative to the dataset root
    ]
)
SEARCH_HITS_SCHEMA = pa.schema(
    [  # `unibind search`: one row per (query, gallery hit), best first
        _s("query"),
        pa.field("rank", pa.int32(), nullable=False),
        _s("benchmark"),
        _s("modality"),
        _s("sample_id"),
        _s("class_name"),
        _s("path"),  # path: absolute, under the gallery's dataset root
        pa.field("score", pa.float64()),  # inner product of unit vectors (cosine)
        _s("setting"),  # Setting of the gallery's vectors: fine-tuned where the benchmark has a head
    ]
)
BALANCE_SCHEMA = pa.schema(
    [
        _s("setting", True),
        _s("classifier", True),
        pa.field("mean_accuracy", pa.float64()),
        pa.field("min_accuracy", pa.float64()),
        pa.field("std_accuracy", pa.float64()),
        pa.field("balance", pa.float64()),
    ]
)  # min / max accuracy across modalities


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
CAPTION_CACHE_SHARD = TableContract("caption cache shard", CAPTION_CACHE_SCHEMA, "data_captions", sort_by=("key",))
CAPTION_QUARANTINE = TableContract("caption quarantine", CAPTION_PROBLEMS_SCHEMA, "data_captions")  # row order
KNOWLEDGE_BASE = TableContract("knowledge base", KB_SCHEMA, "knowledge_base", sort_by=("ID",))  # both kinds of rows
CURATED_OVERRIDES = TableContract("curated overrides", OVERRIDES_SCHEMA, "you: curated/<benchmark>/descriptions.csv")
_VECTORS = {"row_group_rows": 8192, "unit_vectors": True}  # 32 MiB per row group at D = 1024
TEXT_EMBEDDINGS = TableContract(
    "text embeddings", TEXT_EMBEDDINGS_SCHEMA, "kb_text_embeddings", sort_by=("kind", "Category"), **_VECTORS
)
TEXT_CACHE_SHARD = TableContract(
    "text-embedding cache shard", TEXT_CACHE_SCHEMA, "kb_text_embeddings", sort_by=("text_hash",), **_VECTORS
)
FEATURES = TableContract("features", FEATURES_SCHEMA, "data_embeddings", **_VECTORS)  # manifest (sample_id) order
EMBEDDED = TableContract("embedded inputs", EMBEDDED_SCHEMA, "the unibind embed command", unit_vectors=True)
CENTRES = TableContract("centres", CENTRES_SCHEMA, "embedding_centres", sort_by=("class_index", "rank"), **_VECTORS)
HEAD_HISTORY = TableContract("head history", HEAD_HISTORY_SCHEMA, "aligned_heads")
EVALUATIONS = TableContract("evaluations", EVAL_SCHEMA, "benchmark_evaluation")
RETRIEVAL = TableContract(
    "retrieval",
    RETRIEVAL_SCHEMA,
    "retrieval_evaluation",
    sort_by=("query_benchmark", "setting", "protocol", "fold", "k"),
)
RESULTS = TableContract("results", RESULTS_SCHEMA, "results_table")
BALANCE = TableContract("balance", BALANCE_SCHEMA, "results_table")
PAPER_RESULTS = TableContract(
    "paper results", PAPER_RESULTS_SCHEMA, "the package (unibind_core/evaluation/paper/results.tsv)"
)
ALIGNER_COMPARISON = TableContract("aligner comparison", ALIGNER_COMPARISON_SCHEMA, "results_table")
COMPARISON = TableContract("results beside the paper", COMPARISON_SCHEMA, "results_table")  # comparison order
PREDICTIONS = TableContract("predictions", PREDICTIONS_SCHEMA, "the unibind predict command")
PREDICTION_FAILURES = TableContract("prediction failures", QUARANTINE_SCHEMA, "the unibind predict command")
CLASS_VECTORS = TableContract(
    "template classifiers",
    CLASS_VECTORS_SCHEMA,
    "the unibind export command",
    sort_by=("kind", "class_index"),
    unit_vectors=True,
)
GALLERY = TableContract("gallery rows", GALLERY_SCHEMA, "embedding_index")  # index row order
SEARCH_HITS = TableContract("search hits", SEARCH_HITS_SCHEMA, "the unibind search command")
