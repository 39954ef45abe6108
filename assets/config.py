"""Dagster config classes derived from the library's settings dataclasses (unibind_core/options.py).

Every option is declared once, in the library, with its default, doc and environment variable; this
module turns those fields into pydantic/Dagster config fields (nested dataclasses become nested
`dg.Config` classes, so the launchpad and `--config-json` mirror `Settings`). An option whose
environment variable is set takes that value as its default when the resource is built.
"""
from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field, create_model

from unibind_core.llm.config import Secret
from unibind_core.options import doc_of, env_default, field_types, strip_optional

_AS_STRING = (Path, Secret)  # stored in config as plain strings (a Secret may be a dg.EnvVar)


def config_fields(cls: type, exclude: Collection[str] = (),
                  fallbacks: Mapping[str, Callable[[], Any]] | None = None) -> dict[str, tuple[Any, Any]]:
    """pydantic field definitions (type, FieldInfo) for every option of dataclass `cls`."""
    hints, fields = field_types(cls), {}
    for f in dataclasses.fields(cls):
        if f.name in exclude:
            continue
        tp, optional = strip_optional(hints[f.name])
        if dataclasses.is_dataclass(tp):
            nested = config_class(tp)
            fields[f.name] = (nested, Field(default_factory=nested, description=doc_of(f)))
            continue
        if tp in _AS_STRING:
            tp = str
        annotation = typing.Optional[tp] if optional else tp
        fields[f.name] = (annotation, Field(default_factory=_default_factory(f, (fallbacks or {}).get(f.name)),
                                            description=doc_of(f)))
    return fields


def _default_factory(f: dataclasses.Field, fallback: Callable[[], Any] | None) -> Callable[[], Any]:
    """The option's default, read when the config object is built (so the environment applies then)."""
    def default() -> Any:
        value = env_default(f)
        if value is dataclasses.MISSING:
            if fallback is None:
                raise ValueError(f"option {f.name!r} has no default; set it in the resource config")
            return fallback()
        return str(value) if isinstance(value, _AS_STRING) else value

    return default


_CACHE: dict[type, type[dg.Config]] = {}


def config_class(cls: type) -> type[dg.Config]:
    """The nested `dg.Config` class of a settings dataclass, e.g. LLMConfig -> LLMConfigOptions."""
    if cls not in _CACHE:
        _CACHE[cls] = create_model(f"{cls.__name__}Options", __base__=dg.Config,
                                   __doc__=(cls.__doc__ or "").strip(), **config_fields(cls))
    return _CACHE[cls]
