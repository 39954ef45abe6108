import pytest

from unibind_core.core.registry import Registry


def test_unknown_names_list_the_known_ones():
    reg = Registry("widget", {"a": 1, "b": 2})
    with pytest.raises(KeyError, match="unknown widget 'c'; known: a, b"):
        reg["c"]


def test_dotted_entries_import_lazily():
    reg = Registry("thing", {"join": "os.path:join"})
    import os.path

    assert reg["join"] is os.path.join


def test_from_settings_uses_the_classmethod_else_no_arguments():
    class Plain:
        pass

    class Configured:
        def __init__(self, k: int) -> None:
            self.k = k

        @classmethod
        def from_settings(cls, settings):
            return cls(settings["k"])

    reg = Registry("backend", {"plain": Plain, "configured": Configured})
    assert isinstance(reg.from_settings("plain", {}), Plain)
    assert reg.from_settings("configured", {"k": 7}).k == 7


def test_module_of_names_the_module_without_importing_it():
    import sys

    from unibind_core.core.registry import Registry

    reg = Registry("thing", {"lazy": "unibind_nonexistent_module:Thing", "loaded": Registry})
    assert reg.module_of("lazy") == "unibind_nonexistent_module" and "unibind_nonexistent_module" not in sys.modules
    assert reg.module_of("loaded") == "unibind_core.core.registry"
