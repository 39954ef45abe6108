"""Dagster config classes derived from the library's settings dataclasses (unibind_core/core/options.py).

Every option is declared once, in the library, with its default, doc and environment variable; this
module turns those fields into pydantic/Dagster config fields (nested dataclasses become nested
`dg.Config` classes, so the launchpad and `--config-json` mirror `Settings`). An option whose
environment variable is set takes that value as its default when the resource is built.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field, create_model, field_validator

from unibind_core.core.errors import ConfigError
from unibind_core.core.options import doc_of, env_default, field_types, strip_optional
from unibind_core.knowledge.llm.config import Secret

_AS_STRING = (Path,)  # stored in config as plain strings


class EnvRef(dg.Config):
    """A secret option's value in config: the *name* of an environment variable, never the secret, so
    no key is ever stored in the run database or shown in the UI."""

    env: str

    def resolve(self) -> str:
        value = os.environ.get(self.env)
        if not value:
            raise ConfigError(f"environment variable {self.env} (a secret option) is not set")
        return value


def _env_ref_only(cls: type, value: Any) -> Any:
    """dg.EnvVar("X") -> {"env": "X"}; a literal secret is refused before anything stores it."""
    if isinstance(value, dg.EnvVar):
        return {"env": value.env_var_name}
    if isinstance(value, str):
        raise ValueError(
            'pass secrets as an environment reference, dg.EnvVar("OPENAI_API_KEY") in Python or '
            '{"env": "OPENAI_API_KEY"} in run config: a literal would be stored in the run database'
        )
    return value


def config_fields(
    cls: type, exclude: Collection[str] = (), fallbacks: Mapping[str, Callable[[], Any]] | None = None
) -> dict[str, tuple[Any, Any]]:
    """pydantic field definitions (type, FieldInfo) for every option of dataclass `cls`."""
    hints, fields = field_types(cls), {}
    for f in dataclasses.fields(cls):
        if f.name in exclude:
            continue
        tp, optional = strip_optional(hints[f.name])
        if tp is Secret:
            fields[f.name] = (
                EnvRef | None,
                Field(default=None, description=f"{doc_of(f)} (an environment reference only)"),
            )
            continue
        if dataclasses.is_dataclass(tp):
            nested = config_class(tp)
            fields[f.name] = (nested, Field(default_factory=nested, description=doc_of(f)))
            continue
        if tp in _AS_STRING:
            tp = str
        annotation = tp | None if optional else tp
        fields[f.name] = (
            annotation,
            Field(default_factory=_default_factory(f, (fallbacks or {}).get(f.name)), description=doc_of(f)),
        )
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


def secret_validators(cls: type) -> dict[str, Any]:
    """pydantic validators that keep literal secrets out of the config of `cls`'s Secret fields."""
    hints = field_types(cls)
    names = [f.name for f in dataclasses.fields(cls) if strip_optional(hints[f.name])[0] is Secret]
    return {f"_secret_{n}": field_validator(n, mode="before")(_env_ref_only) for n in names}


@functools.cache  # one class per dataclass: pydantic and Dagster compare config types by identity
def config_class(cls: type) -> type[dg.Config]:
    """The nested `dg.Config` class of a settings dataclass, e.g. LLMConfig -> LLMConfigOptions."""
    return create_model(
        f"{cls.__name__}Options",
        __base__=dg.Config,
        __validators__=secret_validators(cls),
        __doc__=(cls.__doc__ or "").strip(),
        **config_fields(cls),
    )


def plain_values(model: dg.Config) -> dict[str, Any]:
    """A config object as the plain values `Settings.from_mapping` takes: nested blocks as dicts,
    environment references resolved (at run time, never stored)."""
    out = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, dg.EnvVar):  # a resource built in Python and used directly
            value = EnvRef(env=value.env_var_name).resolve()
        elif isinstance(value, EnvRef):
            value = value.resolve()
        elif isinstance(value, dg.Config):
            value = plain_values(value)
        out[name] = value
    return out
