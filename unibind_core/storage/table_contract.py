"""One typed reader/writer per persisted table: the mechanism behind every contract in storage/tables.py.

A `TableContract` writes a table conformed to its schema (columns in order, types cast, sorted by its
key) atomically, and reads it back with column projection and filter pushdown. Tables with a vector
column are sorted by their filter keys and written in small row groups, so reading one kind of row
skips the row groups of the others (docs/architecture.md, "Tables").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from unibind_core.storage.io import INPUTS_KEY, atomic_path, vector_type, vectors_to_arrow

VECTOR = "vector"
UNIT_TOLERANCE = 1e-3  # |norm - 1| allowed for a stored unit vector (float32 round-off is ~1e-7)
# Streaming reads: Parquet pre-buffering and deep read-ahead would fetch every selected row group up
# front (measured: 5 GiB resident to stream 4 GiB of descriptions, against 0.7 GiB with these).
_STREAM = {
    "fragment_scan_options": ds.ParquetFragmentScanOptions(pre_buffer=False),
    "batch_readahead": 2,
    "fragment_readahead": 1,
}


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
            raise ValueError(
                f"{self.name} at {path}: {len(bad)} vectors of a batch are not finite unit vectors "
                f"(first: row {offset + i}, norm {norms[i]:.4g}); re-materialize {self.written_by}"
            )

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

    def write(
        self, table: pa.Table, path: str | Path, inputs_key: str | None = None, stamps: dict[str, str] | None = None
    ) -> Path:
        """Conform and write atomically; `inputs_key` stamps what the table was computed from, `stamps`
        other facts about it (e.g. SPACE_KEY: the embedding space of its vectors)."""
        table = self.conform(table)
        if self.unit_vectors:  # chunk by chunk, without copying the vectors
            for chunk in table[VECTOR].chunks:
                self.check_vectors(path, _vectors(chunk))
        extra = {**(stamps or {}), **({INPUTS_KEY: inputs_key} if inputs_key is not None else {})}
        if extra:
            table = table.replace_schema_metadata(
                {**(table.schema.metadata or {}), **{k.encode(): v.encode() for k, v in extra.items()}}
            )
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp, row_group_size=self.row_group_rows)
        return Path(path)

    def write_stream(
        self,
        tables: Iterable[pa.Table],
        path: str | Path,
        inputs_key: str | None = None,
        stamps: dict[str, str] | None = None,
    ) -> int:
        """`write` for a table too large to hold: its parts, in order, appended to one file written
        atomically (one part in memory at a time). Only for unsorted contracts, whose row order is the
        parts' order; -> rows written."""
        if self.sort_by:
            raise ValueError(f"{self.name}: a sorted table cannot be written in parts")
        extra = {**(stamps or {}), **({INPUTS_KEY: inputs_key} if inputs_key is not None else {})}
        writer, rows = None, 0
        with atomic_path(path) as tmp:
            try:
                for part in tables:
                    part = self.conform(part)
                    if self.unit_vectors:
                        for chunk in part[VECTOR].chunks:
                            self.check_vectors(path, _vectors(chunk), rows)
                    if writer is None:
                        schema = part.schema.with_metadata({k.encode(): v.encode() for k, v in extra.items()})
                        writer = pq.ParquetWriter(tmp, schema)
                    writer.write_table(
                        part.replace_schema_metadata(writer.schema.metadata), row_group_size=self.row_group_rows
                    )
                    rows += part.num_rows
                if writer is None:
                    raise ValueError(f"{self.name}: nothing to write to {path}")
            finally:
                if writer is not None:
                    writer.close()
        return rows

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

    def read(
        self, path: str | Path, columns: Sequence[str] | None = None, filter: pc.Expression | None = None
    ) -> pa.Table:
        """The rows matching `filter`, only `columns` (all when None)."""
        dataset = self.dataset(path)
        try:
            return dataset.to_table(columns=list(columns) if columns is not None else None, filter=filter)
        except (pa.ArrowInvalid, OSError) as exc:
            raise _unreadable(self.name, path, exc) from exc

    def batches(
        self, path: str | Path, columns: Sequence[str], filter: pc.Expression | None = None
    ) -> Iterator[pa.RecordBatch]:
        """The matching rows as record batches, streamed (one row group at a time, not pre-buffered)."""
        return self.dataset(path).to_batches(
            columns=list(columns), filter=filter, batch_size=self.row_group_rows, **_STREAM
        )

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

    def read_vectors(
        self,
        path: str | Path,
        columns: Sequence[str] = (),
        filter: pc.Expression | None = None,
        dtype: type = np.float32,
    ) -> tuple[pa.Table, np.ndarray]:
        """(rows of `columns`, (N, D) vectors in `dtype`, float32 unless asked) of the rows matching `filter`.

        Streams row groups into one preallocated array: the peak is the result plus one batch, not the
        several copies a whole-table read and conversion would make (each batch checked in float32)."""
        dataset = self.dataset(path)
        n, dim = dataset.count_rows(filter=filter), self.dim(path)
        out = np.empty((n, dim), dtype)
        batches, i = [], 0
        for batch in self.batches(path, [*columns, VECTOR], filter):
            m = batch.num_rows
            vectors = _vectors(batch.column(VECTOR))
            self.check_vectors(path, vectors, i)
            out[i : i + m] = vectors
            batches.append(batch.select(list(columns)))
            i += m
        schema = pa.schema([dataset.schema.field(c) for c in columns])
        return pa.Table.from_batches(batches, schema=schema), out

    def groups(
        self, path: str | Path, key: str, columns: Sequence[str] = (), filter: pc.Expression | None = None
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
