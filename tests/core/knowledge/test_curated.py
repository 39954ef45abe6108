"""Curated knowledge-base inputs: overrides applied exactly, every bad row refused with file, line and ID."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from unibind_core.core.errors import ConfigError
from unibind_core.knowledge.curated import (
    ABSENT,
    DESCRIPTION_OVERRIDES,
    PROMPT_TEMPLATES,
    curated_kb,
    curated_templates,
    read_overrides,
)
from unibind_core.knowledge.kb import kb_rows
from unibind_core.storage.layout import Layout

KEYS = ["cat", "dog"]


def _kb() -> pa.Table:
    ids = ["cat:cat:0", "cat:cat:1", "cat:dog:0", "s1"]
    return kb_rows(
        ids,
        ["cat", "cat", "dog", "dog"],
        ["a cat.", "a small cat.", "a dog.", "a photo of a dog."],
        ["template"] * 4,
        ["p"] * 4,
        "toy",
        "image",
    )


def _write_csv(tmp_path, text: str):
    folder = tmp_path / "curated" / "toy"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "descriptions.csv").write_text(text)
    return Layout(tmp_path), folder / "descriptions.csv"


def test_replace_add_remove_with_quoted_csv_fields(tmp_path):
    layout, path = _write_csv(
        tmp_path,
        "ID,Category,Description,Source\n"
        'cat:cat:1,cat,"a cat, curled up, asleep.",\n'
        'cat:dog:mine,dog,"a dog ""fetching"" a ball.",me\n'
        "cat:cat:0,cat,,\n"
        "s1,dog,a hand-written caption of a dog.,me\n",
    )
    kb, meta = curated_kb(_kb(), layout, "toy", KEYS)
    rows = {r["ID"]: r for r in kb.to_pylist()}
    assert sorted(rows) == ["cat:cat:1", "cat:dog:0", "cat:dog:mine", "s1"]  # cat:cat:0 removed
    assert rows["cat:cat:1"]["Description"] == "a cat, curled up, asleep." and rows["cat:cat:1"]["Source"] == "curator"
    assert rows["cat:dog:mine"]["Description"] == 'a dog "fetching" a ball.' and rows["cat:dog:mine"]["Source"] == "me"
    assert rows["cat:dog:mine"]["prompt"] == "curated:descriptions.csv" and rows["cat:dog:mine"]["dataset"] == "toy"
    assert rows["cat:dog:0"]["Description"] == "a dog."  # untouched rows stay as they were
    assert meta["overrides_replace"] == 2 and meta["overrides_add"] == 1 and meta["overrides_remove"] == 1
    assert kb["ID"].to_pylist() == sorted(rows)


def test_no_curated_file_leaves_the_kb_as_it_is(tmp_path):
    original = _kb()
    kb, meta = curated_kb(original, Layout(tmp_path), "toy", KEYS)
    assert kb is original and meta == {"curated_overrides": ABSENT}
    assert DESCRIPTION_OVERRIDES.version(Layout(tmp_path), "toy") == ABSENT


@pytest.mark.parametrize(
    "row, why",
    [
        ("cat:cat:0,bird,a bird.,", "line 2 (ID 'cat:cat:0'): Category 'bird' is not a class key"),
        ("cat:cat:0,dog,a dog.,", "has this ID under Category 'cat'"),
        ("cat:cat:9,cat,,", "an empty Description removes a row, but no row has this ID"),
        ("extra,cat,a cat.,", "a new description needs an ID cat:cat:<name>"),
        (",cat,a cat.,", "the ID is empty"),
        ("cat:cat:0,cat," + "word " * 80 + ",", "over 75 CLIP BPE tokens"),
    ],
)
def test_bad_rows_are_refused_naming_file_line_and_id(tmp_path, row, why):
    layout, path = _write_csv(tmp_path, f"ID,Category,Description,Source\n{row}\n")
    with pytest.raises(ConfigError, match=str(path).replace(".", r"\.")) as err:
        curated_kb(_kb(), layout, "toy", KEYS)
    assert why in str(err.value)


def test_duplicated_id_and_missing_columns(tmp_path):
    layout, path = _write_csv(tmp_path, "ID,Category,Description\ncat:cat:0,cat,a.\ncat:cat:0,cat,b.\n")
    with pytest.raises(ConfigError, match="line 3 .*listed twice"):
        curated_kb(_kb(), layout, "toy", KEYS)
    layout, path = _write_csv(tmp_path, "ID,Text\ncat:cat:0,a.\n")
    with pytest.raises(ConfigError, match=r"lacks the column\(s\) \['Category', 'Description'\]"):
        read_overrides(path)


def test_parquet_overrides_and_one_file_per_kind(tmp_path):
    folder = tmp_path / "curated" / "toy"
    folder.mkdir(parents=True)
    pq.write_table(
        pa.table({"ID": ["cat:cat:0"], "Category": ["cat"], "Description": ["a tabby cat."], "Source": ["me"]}),
        folder / "descriptions.parquet",
    )
    kb, meta = curated_kb(_kb(), Layout(tmp_path), "toy", KEYS)
    assert kb.filter(pa.compute.equal(kb["ID"], "cat:cat:0"))["Description"].to_pylist() == ["a tabby cat."]
    (folder / "descriptions.csv").write_text("ID,Category,Description\n")
    with pytest.raises(ConfigError, match="keep one curated descriptions file"):
        curated_kb(_kb(), Layout(tmp_path), "toy", KEYS)


def test_version_follows_content(tmp_path):
    layout, path = _write_csv(tmp_path, "ID,Category,Description\ncat:cat:0,cat,a.\n")
    v1 = DESCRIPTION_OVERRIDES.version(layout, "toy")
    path.write_text("ID,Category,Description\ncat:cat:0,cat,a.\n")  # rewritten, same bytes
    assert DESCRIPTION_OVERRIDES.version(layout, "toy") == v1 != ABSENT
    path.write_text("ID,Category,Description\ncat:cat:0,cat,b.\n")
    assert DESCRIPTION_OVERRIDES.version(layout, "toy") != v1


def test_templates_file(tmp_path):
    layout = Layout(tmp_path)
    assert curated_templates(layout, "toy") is None
    folder = layout.curated("toy")
    folder.mkdir(parents=True)
    (folder / "templates.txt").write_text("# my prompts\na photo of a {}.\n\nitap of a {}.\n")
    assert curated_templates(layout, "toy") == ("a photo of a {}.", "itap of a {}.")
    assert PROMPT_TEMPLATES.version(layout, "toy").startswith("templates.txt:")
    (folder / "templates.txt").write_text("a photo of a {}.\na photo.\n")
    with pytest.raises(ConfigError, match="line 2: a template needs exactly one {}"):
        curated_templates(layout, "toy")
    (folder / "templates.txt").write_text("# nothing\n")
    with pytest.raises(ConfigError, match="no templates"):
        curated_templates(layout, "toy")
