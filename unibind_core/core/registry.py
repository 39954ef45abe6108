"""Name -> implementation registries, so backends are chosen by name from config (docs/architecture.md).

Entries may be dotted paths ("pkg.module:attr") imported on first use, which keeps heavy optional
dependencies (video decoding, LLM clients) out of the import of everything else.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

from unibind_core.core.errors import UnknownNameError

T = TypeVar("T")


class Registry(Mapping[str, T], Generic[T]):
    def __init__(self, kind: str, entries: Mapping[str, T | str] | None = None) -> None:
        self.kind = kind
        self._entries: dict[str, T | str] = dict(entries or {})

    def register(self, name: str, entry: T | str) -> None:
        self._entries[name] = entry

    def require(self, name: str) -> str:
        """`name` if registered, without importing its entry; else an error listing the known names."""
        if name not in self._entries:
            known = ", ".join(sorted(self._entries)) or "none"
            raise UnknownNameError(f"unknown {self.kind} {name!r}; known: {known}")
        return name

    def __getitem__(self, name: str) -> T:
        entry = self._entries[self.require(name)]
        if isinstance(entry, str) and ":" in entry:
            module, attr = entry.split(":", 1)
            entry = getattr(importlib.import_module(module), attr)
            self._entries[name] = entry
        return entry  # type: ignore[return-value]

    def module_of(self, name: str) -> str:
        """The module that defines entry `name`, without importing it (a `"module:attr"` entry is not loaded)."""
        entry = self._entries[self.require(name)]
        return entry.split(":", 1)[0] if isinstance(entry, str) and ":" in entry else entry.__module__

    def from_settings(self, name: str, settings: Any) -> Any:
        """Construct entry `name` from the pipeline settings: its `from_settings` classmethod, else no arguments."""
        cls = self[name]
        factory = getattr(cls, "from_settings", None)
        return factory(settings) if factory is not None else cls()

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {sorted(self._entries)})"
