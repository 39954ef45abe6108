"""Curated knowledge-base inputs: what a researcher edits by hand, beside what the stages generate.

One folder per benchmark, `<data_root>/curated/<benchmark>/` (docs/architecture.md, Curated inputs):

- `descriptions.csv` or `descriptions.parquet` — an overrides table with the knowledge base's own
  columns `ID, Category, Description, Source` (`Source` optional, default `curator`). A row whose ID
  is in the knowledge base replaces that row's text; a new ID `cat:<class_key>:<any name>` adds a
  category description; an empty Description removes the row with that ID.
- `templates.txt` — zero-shot prompt templates, one per line with `{}` where the class name goes
  (`#` starts a comment); they replace CLIP's 80 ImageNet templates for that benchmark.

Each file's content hash is its data version (`version`): Dagster observes it, so editing a file
re-runs exactly what depends on it and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from unibind_core.core.errors import ConfigError
from unibind_core.knowledge.kb import CATEGORY_ID_PREFIX, fits_clip, kb_rows
from unibind_core.storage.io import file_hash
from unibind_core.storage.layout import Layout
from unibind_core.storage.tables import KB_SCHEMA, OVERRIDES_SCHEMA, OverrideAction

ABSENT = "absent"  # the data version of a curated input nobody has written
DEFAULT_SOURCE = "curator"


@dataclass(frozen=True)
class CuratedInput:
    """One kind of curated file; a benchmark has at most one file of each kind."""

    name: str
    filenames: tuple[str, ...]  # accepted names, one format each

    def present(self, layout: Layout, bench: str) -> list[Path]:
        folder = layout.curated(bench)
        return [folder / f for f in self.filenames if (folder / f).is_file()]

    def path(self, layout: Layout, bench: str) -> Path | None:
        present = self.present(layout, bench)
        if len(present) > 1:
            raise ConfigError(f"{bench}: both {present[0]} and {present[1]} exist; keep one curated {self.name} file")
        return present[0] if present else None

    def version(self, layout: Layout, bench: str) -> str:
        """Content hash of the file, or ABSENT: what Dagster records as the source's data version."""
        return "+".join(f"{p.name}:{file_hash(p)}" for p in self.present(layout, bench)) or ABSENT


DESCRIPTION_OVERRIDES = CuratedInput("descriptions", ("descriptions.csv", "descriptions.parquet"))
PROMPT_TEMPLATES = CuratedInput("prompts", ("templates.txt",))
CURATED_INPUTS = (DESCRIPTION_OVERRIDES, PROMPT_TEMPLATES)


def read_overrides(path: Path) -> pa.Table:
    """The overrides table, every column a string, `Source` filled with `curator` where absent or empty.
    A CSV is read with pyarrow's parser (quoted fields, embedded commas and newlines)."""
    try:
        if path.suffix == ".csv":
            table = pacsv.read_csv(
                path,
                convert_options=pacsv.ConvertOptions(
                    column_types={n: pa.string() for n in OVERRIDES_SCHEMA.names}, strings_can_be_null=False
                ),
            )
        else:
            table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ConfigError(f"{path}: not a readable {path.suffix[1:]} table ({exc})") from exc
    missing = [c for c in ("ID", "Category", "Description") if c not in table.column_names]
    if missing:
        raise ConfigError(
            f"{path}: the overrides table lacks the column(s) {missing}; its columns are "
            f"ID, Category, Description, Source (Source optional)"
        )
    if "Source" not in table.column_names:
        table = table.append_column("Source", pa.array([DEFAULT_SOURCE] * table.num_rows, pa.string()))
    table = table.select(OVERRIDES_SCHEMA.names).cast(OVERRIDES_SCHEMA)
    source = pc.if_else(pc.equal(pc.utf8_trim_whitespace(table["Source"]), ""), DEFAULT_SOURCE, table["Source"])
    return table.set_column(3, "Source", source)


def _row_error(path: Path, i: int, row: dict, why: str) -> ConfigError:
    line = f"line {i + 2}" if path.suffix == ".csv" else f"row {i}"  # the CSV header is line 1
    return ConfigError(f"{path} {line} (ID {row['ID']!r}): {why}")


def apply_overrides(
    kb: pa.Table, overrides: pa.Table, path: Path, class_keys: Sequence[str]
) -> tuple[pa.Table, dict[str, int]]:
    """The knowledge base with a curator's rows applied, and how many rows each action touched.
    Every problem is an error naming the file, line and ID: nothing is applied half-way."""
    known = dict(zip(kb["ID"].to_pylist(), kb["Category"].to_pylist()))
    keys = set(class_keys)
    seen: set[str] = set()
    drop: set[str] = set()
    new_rows: list[dict] = []
    counts = {a.value: 0 for a in OverrideAction}
    for i, row in enumerate(overrides.to_pylist()):
        rid, cat, text = row["ID"].strip(), row["Category"].strip(), " ".join(row["Description"].split())
        if not rid:
            raise _row_error(path, i, row, "the ID is empty")
        if rid in seen:
            raise _row_error(path, i, row, "the ID is listed twice")
        seen.add(rid)
        if cat not in keys:
            raise _row_error(
                path,
                i,
                row,
                f"Category {cat!r} is not a class key of this benchmark (keys look like {sorted(keys)[:3]})",
            )
        if rid in known and known[rid] != cat:
            raise _row_error(path, i, row, f"the knowledge base has this ID under Category {known[rid]!r}")
        if not text:
            if rid not in known:
                raise _row_error(path, i, row, "an empty Description removes a row, but no row has this ID")
            action = OverrideAction.REMOVE
        elif rid in known:
            action = OverrideAction.REPLACE
        elif rid.startswith(f"{CATEGORY_ID_PREFIX}{cat}:"):
            action = OverrideAction.ADD
        else:
            raise _row_error(
                path, i, row, f"not a knowledge-base ID; a new description needs an ID {CATEGORY_ID_PREFIX}{cat}:<name>"
            )
        if action is not OverrideAction.REMOVE and not fits_clip(text):
            raise _row_error(path, i, row, "the Description is over 75 CLIP BPE tokens")
        counts[action.value] += 1
        drop.add(rid)
        if action is not OverrideAction.REMOVE:
            new_rows.append({"ID": rid, "Category": cat, "Description": text, "Source": row["Source"]})
    kept = kb.filter(pc.invert(pc.is_in(kb["ID"], value_set=pa.array(sorted(drop), pa.string()))))
    dataset, modality = (kb["dataset"][0].as_py(), kb["modality"][0].as_py()) if kb.num_rows else ("", "")
    added = kb_rows(
        [r["ID"] for r in new_rows],
        [r["Category"] for r in new_rows],
        [r["Description"] for r in new_rows],
        [r["Source"] for r in new_rows],
        [f"curated:{path.name}"] * len(new_rows),
        dataset,
        modality,
    )
    return pa.concat_tables([kept.cast(KB_SCHEMA), added]).sort_by("ID"), counts


def curated_kb(
    kb: pa.Table, layout: Layout, bench: str, class_keys: Sequence[str]
) -> tuple[pa.Table, dict[str, object]]:
    """`kb` with the benchmark's curated overrides applied (unchanged when it has none) and metadata."""
    path = DESCRIPTION_OVERRIDES.path(layout, bench)
    if path is None:
        return kb, {"curated_overrides": ABSENT}
    table, counts = apply_overrides(kb, read_overrides(path), path, class_keys)
    return table, {"curated_overrides": str(path), **{f"overrides_{k}": v for k, v in counts.items()}}


def read_templates(path: Path) -> tuple[str, ...]:
    """Prompt templates, one per line with exactly one `{}`; blank lines and `#` comments skipped."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if text.count("{}") != 1:
            raise ConfigError(
                f"{path} line {n}: a template needs exactly one {{}} where the class name goes; got {text!r}"
            )
        out.append(text)
    if not out:
        raise ConfigError(f"{path}: no templates (one per line, e.g. 'a photo of a {{}}.')")
    return tuple(out)


def curated_templates(layout: Layout, bench: str) -> tuple[str, ...] | None:
    """The benchmark's curated templates, or None: CLIP's 80 ImageNet templates apply."""
    path = PROMPT_TEMPLATES.path(layout, bench)
    return read_templates(path) if path is not None else None
