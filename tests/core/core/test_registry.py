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


def test_every_registry_entry_of_the_library_imports():
    """After a move, a stale "module:attr" string fails here, not in a user's run: every module-level Registry
    of unibind_core resolves every one of its entries."""
    import importlib
    import pkgutil

    import unibind_core
    from unibind_core.core.registry import Registry

    registries = {}
    for info in pkgutil.walk_packages(unibind_core.__path__, "unibind_core."):
        if ".scripts." in info.name:  # the external environments' scripts run under their own interpreters
            continue
        module = importlib.import_module(info.name)
        registries.update({f"{info.name}.{n}": r for n, r in vars(module).items() if isinstance(r, Registry)})
    names = {n.rsplit(".", 1)[1] for n in registries}
    assert {"ALIGNERS", "BACKBONES", "CAPTIONERS", "CAPTION_VIEWS", "LOADERS", "READERS"} <= names, names
    for where, registry in registries.items():
        for name in registry:
            assert registry[name] is not None, f"{where}[{name!r}]"
