"""Options: every setting is declared once, as a dataclass field with its default, a one-line doc and
(where a deployment may set it) the environment variable that overrides the default.

The Dagster resource, its launchpad schema and `--config-json` shape are derived from these fields
(assets/config.py), and plain-Python users build the same dataclasses with `from_mapping`. Nothing
else in the project declares a setting or reads a `UNIBIND_*` variable (docs/architecture.md lists them).
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from unibind_core.core.errors import ConfigError

T = TypeVar("T")

DOC, ENV = "doc", "env"


def option(
    default: Any = dataclasses.MISSING,
    doc: str = "",
    *,
    env: str | None = None,
    factory: Callable[[], Any] | None = None,
    repr: bool = True,
) -> Any:
    """A dataclass field carrying its documentation and, optionally, an environment override."""
    meta = {DOC: doc, ENV: env}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta, repr=repr)
    return dataclasses.field(default=default, metadata=meta, repr=repr)


def doc_of(f: dataclasses.Field) -> str:
    return f.metadata.get(DOC, "")


def env_of(f: dataclasses.Field) -> str | None:
    return f.metadata.get(ENV)


def field_types(cls: type) -> dict[str, Any]:
    """Resolved annotations of a dataclass (they are strings under `from __future__ import annotations`)."""
    return typing.get_type_hints(cls)


def strip_optional(tp: Any) -> tuple[Any, bool]:
    """`X | None` -> (X, True); anything else -> (tp, False)."""
    args = typing.get_args(tp)
    if (typing.get_origin(tp) in (typing.Union, types.UnionType)) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]), True  # noqa: UP007 - built from a runtime tuple
    return tp, False


def env_default(f: dataclasses.Field, environ: Mapping[str, str] | None = None) -> Any:
    """The field's default, unless its environment variable is set (and non-empty)."""
    name = env_of(f)
    value = (environ if environ is not None else os.environ).get(name) if name else None
    if value:
        return value
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def default_of(cls: type, name: str, environ: Mapping[str, str] | None = None) -> Any:
    """Option `name` of dataclass `cls` as the environment leaves it: its override, else its default."""
    return env_default(next(f for f in dataclasses.fields(cls) if f.name == name), environ)


def from_mapping(cls: type[T], values: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> T:
    """Build a (nested) settings dataclass from plain values: dicts for nested dataclasses, strings for
    paths; options left out take their environment override, else their default."""
    hints = field_types(cls)
    unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
    renamed = {k: v for k, v in getattr(cls, "RENAMED", {}).items() if k in unknown}  # an option's former spelling
    if renamed:
        raise ConfigError(
            f"{cls.__name__}: " + "; ".join(f"option {k!r} is now {v!r}" for k, v in sorted(renamed.items()))
        )
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} option(s) {sorted(unknown)}")
    kwargs = {}
    for f in dataclasses.fields(cls):
        tp, _ = strip_optional(hints[f.name])
        if f.name in values:
            value = values[f.name]
        elif dataclasses.is_dataclass(tp):
            value = {}  # a nested block left out: its own options still take their environment overrides
        else:
            value = env_default(f, environ)
        if value is dataclasses.MISSING:
            raise ConfigError(f"{cls.__name__} option {f.name!r} is required ({doc_of(f)})")
        if dataclasses.is_dataclass(tp) and isinstance(value, Mapping):
            value = from_mapping(tp, value, environ)
        elif value is not None and isinstance(tp, type) and not isinstance(value, tp):
            value = _coerce(tp, value)
        kwargs[f.name] = value
    return cls(**kwargs)


def _coerce(tp: type, value: Any) -> Any:
    """Plain config values -> the field's type: str -> Path, str -> Secret, "3" -> 3 (environment values)."""
    if tp is bool and isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    if tp in (int, float) and isinstance(value, bool):
        raise ConfigError(f"expected a number, got {value!r}")
    return tp(value)


def iter_options(cls: type, prefix: str = "") -> Iterator[tuple[str, Any, Any, str, str | None]]:
    """(dotted name, type, default, doc, env) of every option, nested dataclasses flattened (for docs)."""
    hints = field_types(cls)
    for f in dataclasses.fields(cls):
        tp, _ = strip_optional(hints[f.name])
        if dataclasses.is_dataclass(tp):
            yield from iter_options(tp, f"{prefix}{f.name}.")
            continue
        default = f.default if f.default is not dataclasses.MISSING else None
        yield f"{prefix}{f.name}", hints[f.name], default, doc_of(f), env_of(f)


def options_markdown(cls: type) -> str:
    """The options of `cls` as a Markdown table (docs/architecture.md embeds it; a test keeps it current)."""

    def type_name(tp: Any) -> str:
        return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")

    lines = ["| option | type | default | environment | what it sets |", "|---|---|---|---|---|"]
    for name, tp, default, doc, env in iter_options(cls):
        inner, optional = strip_optional(tp)
        shown = "required" if default is None and not optional else repr(default)
        lines.append(
            f"| `{name}` | {type_name(inner)}{' or None' if optional else ''} | `{shown}` | "
            f"{f'`{env}`' if env else ''} | {doc} |"
        )
    return "\n".join(lines)


def to_plain(value: Any) -> Any:
    """A settings dataclass -> JSON-ready values (paths as strings, secrets left out)."""
    if dataclasses.is_dataclass(value):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.repr}
    if isinstance(value, Path):
        return str(value)
    return value
