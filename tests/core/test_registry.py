import pytest

from unibind_core.registry import Registry


def test_unknown_names_list_the_known_ones():
    reg = Registry("widget", {"a": 1, "b": 2})
    with pytest.raises(KeyError, match="unknown widget 'c'; known: a, b"):
        reg["c"]


def test_dotted_entries_import_lazily():
    reg = Registry("thing", {"join": "os.path:join"})
    import os.path

    assert reg["join"] is os.path.join
