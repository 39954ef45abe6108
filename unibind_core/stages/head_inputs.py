"""What head training reads, read once per benchmark: the fixed and fold splits' features, their captions, the
centres, the knowledge base's descriptions (for an aligner that `uses_texts`), partners; and in what precision.

Precision ([ours], issue 21): at ImageNet size the float32 inputs alone are ~14 GB (1.28M features and captions,
1M descriptions, D = 1024). `alignment.input_dtype` holds the training features, captions and descriptions in
float16 (half the memory; unit vectors keep ~3 decimal digits) and every batch is computed in float32; `auto`
does so only when in float32 they would pass `alignment.input_float32_gib`, so every demo and test size trains
on float32 exactly as before. The eval split, the centres and the evaluation stay float32.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from unibind_core.core.settings import Settings
from unibind_core.method.aligners import ALIGNERS, AlignData
from unibind_core.stages.partners import PartnerFeatures, partner_features
from unibind_core.stages.runs import HeadRun, all_features
from unibind_core.storage.tables import CENTRES, FEATURES, TEXT_EMBEDDINGS, RowKind, Split, kind_is, split_is

_NUMPY_DTYPES = {"float32": np.float32, "float16": np.float16}


def split_features(s: Settings, bench: str, split: Split, dtype: type = np.float32) -> tuple[pa.Table, np.ndarray]:
    """(sample_id + class_index rows, (N, D) frozen features in `dtype`) of one split, in manifest order."""
    return FEATURES.read_vectors(s.layout.features(bench), ("sample_id", "class_index"), split_is(split), dtype)


def text_vectors(
    s: Settings, bench: str, columns: tuple[str, ...], *kinds: RowKind, dtype: type = np.float32
) -> tuple[pa.Table, np.ndarray]:
    """Rows of the given kinds of the text-embeddings table and their (N, D) vectors in `dtype`."""
    return TEXT_EMBEDDINGS.read_vectors(s.layout.text_embeddings(bench), columns, kind_is(*kinds), dtype=dtype)


def centre_arrays(s: Settings, bench: str) -> tuple[np.ndarray, np.ndarray]:
    rows, vectors = CENTRES.read_vectors(s.layout.centres(bench), ("class_index",))
    return vectors, rows["class_index"].to_numpy()


def input_float32_bytes(s: Settings, bench: str, with_texts: bool) -> int:
    """Bytes the head's training inputs take in float32: training features + captions (+ descriptions)."""
    lay = s.layout
    rows = FEATURES.dataset(lay.features(bench)).count_rows(filter=split_is(Split.TRAIN))
    kinds = (RowKind.CAPTION, RowKind.DESCRIPTION) if with_texts else (RowKind.CAPTION,)
    rows += TEXT_EMBEDDINGS.dataset(lay.text_embeddings(bench)).count_rows(filter=kind_is(*kinds))
    return rows * FEATURES.dim(lay.features(bench)) * 4


def input_dtype(s: Settings, bench: str, with_texts: bool) -> type:
    """The precision of the head's training inputs (module docstring): the option, `auto` resolved by size."""
    wanted = s.alignment.input_dtype
    if wanted == "auto":
        big = input_float32_bytes(s, bench, with_texts) > s.alignment.input_float32_gib * 2**30
        wanted = "float16" if big else "float32"
    return _NUMPY_DTYPES[wanted]


def _caption_index(
    bench: str, sample_ids: pa.ChunkedArray, caption_ids: pa.ChunkedArray
) -> tuple[np.ndarray, np.ndarray]:
    """((M,) row of each captioned training sample's own caption in the caption vectors, (N,) bool: which of
    the N samples have one). A sample the captioner flagged or could not read has none (docs/method.md §1)."""
    pos = pc.index_in(sample_ids, value_set=caption_ids)
    has = ~np.asarray(pc.is_null(pos))
    if not has.any():
        first = sample_ids[0].as_py() if len(sample_ids) else "-"
        raise ValueError(
            f"{bench}: none of the {len(sample_ids)} training samples has a caption embedding "
            f"(first {first!r}); materialize data_captions and kb_text_embeddings"
        )
    return pos.filter(pa.array(has)).to_numpy().astype(np.int64), has


class HeadInputs:
    """What every training run of one benchmark reads, read once: the runs (aligners x folds) differ only
    in which samples they train and select on."""

    def __init__(self, s: Settings, bench: str, with_texts: bool = False) -> None:
        self.s, self.bench = s, bench
        self.dtype = input_dtype(s, bench, with_texts)

    @cached_property
    def captions(self) -> tuple[pa.Table, np.ndarray]:
        return text_vectors(self.s, self.bench, ("ID",), RowKind.CAPTION, dtype=self.dtype)

    @cached_property
    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        return centre_arrays(self.s, self.bench)

    @cached_property
    def texts(self) -> np.ndarray:
        """(C x M, D) description vectors: read only when an aligner that `uses_texts` (Ex-MCR) trains."""
        return text_vectors(self.s, self.bench, (), RowKind.DESCRIPTION, dtype=self.dtype)[1]

    @cached_property
    def fixed(self) -> tuple[tuple[pa.Table, np.ndarray], tuple[pa.Table, np.ndarray]]:
        return (
            split_features(self.s, self.bench, Split.TRAIN, self.dtype),
            split_features(self.s, self.bench, Split.EVAL),
        )  # the eval split is small: float32 always

    @cached_property
    def fixed_captions(self) -> tuple[np.ndarray, np.ndarray]:
        """_caption_index of the fixed split's training samples: the same for every aligner's fixed run."""
        return _caption_index(self.bench, self.fixed[0][0]["sample_id"], self.captions[0]["ID"])

    @cached_property
    def fixed_train(self) -> tuple[np.ndarray, np.ndarray, pa.ChunkedArray]:
        """The fixed split's captioned training samples ((N, D) features, (N,) labels, ids): one array that every
        aligner's fixed run shares (the uncaptioned rows are filtered out once, not per aligner)."""
        (rows, x), (_, has) = self.fixed[0], self.fixed_captions
        ids, y = rows["sample_id"], rows["class_index"].to_numpy()
        return (x, y, ids) if has.all() else (x[has], y[has], ids.filter(pa.array(has)))

    @cached_property
    def every(self) -> tuple[pa.Table, np.ndarray, np.ndarray]:
        return all_features(self.s, self.bench)

    @cached_property
    def partners(self) -> PartnerFeatures | None:
        return partner_features(self.s, self.bench)


def align_data(inputs: HeadInputs, run: HeadRun) -> AlignData:
    """The run's training and eval samples with their captions, the centres, the knowledge base's texts and,
    for an aligner that uses one, each training sample's partner in the paired benchmark."""
    captions, caption_vectors = inputs.captions
    centres, centre_class = inputs.centres
    if run.fold is None:
        eval_rows, eval_x = inputs.fixed[1]
        train_x, train_y, train_ids = inputs.fixed_train
        eval_y = eval_rows["class_index"].to_numpy()
        index, has = inputs.fixed_captions[0], None
    else:
        rows, x, folds = inputs.every
        tr, ev, _ = run.fold.masks(folds)
        y = rows["class_index"].to_numpy()
        train_x, train_y, eval_x, eval_y = x[tr], y[tr], x[ev], y[ev]
        train_ids = rows["sample_id"].filter(pa.array(tr))
        index, has = _caption_index(inputs.bench, train_ids, captions["ID"])
    if has is not None and not has.all():  # uncaptioned samples train no aligner: each pairs a sample with its caption
        train_x, train_y, train_ids = train_x[has], train_y[has], train_ids.filter(pa.array(has))
    aligner = ALIGNERS.from_settings(run.aligner, inputs.s)
    partners = inputs.partners if aligner.uses_partner else None
    return AlignData(
        train_x,
        train_y,
        caption_vectors,
        index,
        centres,
        centre_class,
        eval_x,
        eval_y,
        texts=inputs.texts if aligner.uses_texts else None,
        paired=None if partners is None else partners.lookup(train_ids.to_pylist()),
    )


def uncaptioned(inputs: HeadInputs) -> int:
    """Training samples of the fixed split left out of head training for want of a caption."""
    return int((~inputs.fixed_captions[1]).sum())
