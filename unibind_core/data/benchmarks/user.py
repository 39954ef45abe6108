"""Your own benchmarks, declared in a config file (`benchmarks.yaml`, or JSON) named by UNIBIND_BENCHMARKS.

They join the one benchmark registry (spec.BENCHMARKS) and form a profile of their own, so with
UNIBIND_PROFILE set to it each becomes a partition of the code location like a built-in one. Read once,
when spec.py is imported (like the profile, fixed per code location). The file:

    profile: own                      # the profile its benchmarks form (default: own)
    benchmarks:
      - name: my_pets                 # partition key: lower case, digits, _
        modality: image               # a key of modalities.LOADERS
        reader: folder                # a key of readers.READERS (folder, manifest, or a built-in format)
        root: /data/pets              # absolute, or relative to <data_root>/datasets
        prompt_noun: photo            # "A {noun} of a {class}" (descriptions, templates, class-prompt captions)
        reader_options: {suffixes: [.png]}
        loader_options: {size: 224}
        train: {batch_size: 32, lr: 0.001, epochs: 10}
        captions: class_prompt        # class_prompt (default) or none: see docs/method.md, "Your own data"
        paired_benchmark: null

A mistake is a ConfigError of one line naming the file, the entry and the field.
"""
from __future__ import annotations

import inspect
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from unibind_core.core.modality import Modality
from unibind_core.core.errors import ConfigError

if TYPE_CHECKING:
    from unibind_core.data.benchmarks.spec import BenchmarkSpec

ENV = "UNIBIND_BENCHMARKS"
DEFAULT_PROFILE = "own"
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
CAPTIONS = ("class_prompt", "none")  # what a sample without a shipped caption gets
REQUIRED = ("name", "modality", "reader", "root")
OPTIONAL = ("prompt_noun", "reader_options", "loader_options", "train", "captions", "paired_benchmark")
TRAIN_FIELDS = {"batch_size": int, "lr": float, "epochs": int}


@dataclass(frozen=True)
class UserBenchmarks:
    """What a config file declares: its profile's name and its benchmarks, in file order."""

    path: Path | None
    profile: str
    specs: Mapping[str, BenchmarkSpec]


def class_prompt_template(noun: str) -> str:
    """The caption a sample without one gets under `captions: class_prompt`: its class prompt."""
    return f"A {noun} of a {{class_name}}."


def _load_text(path: Path) -> Any:
    """The file's content: JSON for a `.json` file, else YAML."""
    import yaml

    if not path.is_file():
        raise ConfigError(f"{path}: benchmarks file ({ENV}) does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON at line {exc.lineno} ({exc.msg})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML{where} ({getattr(exc, 'problem', None) or exc})") from exc


class _Entry:
    """Field access for one entry, every error naming the file, the entry and the field."""

    def __init__(self, path: Path, label: str, raw: Mapping[str, Any]) -> None:
        self.path, self.label, self.raw = path, label, raw

    def fail(self, field: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}: benchmark {self.label}, field {field}: {problem}")

    def text(self, field: str, default: str | None = None) -> str | None:
        value = self.raw.get(field, default)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise self.fail(field, f"must be a non-empty string, got {value!r}")
        return value.strip() if isinstance(value, str) else value

    def mapping(self, field: str) -> dict[str, Any]:
        value = self.raw.get(field) or {}
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise self.fail(field, f"must be a mapping of option names to values, got {value!r}")
        return dict(value)


def _spec(entry: _Entry, known: Mapping[str, Any]) -> BenchmarkSpec:
    from unibind_core.data.benchmarks.readers import READERS
    from unibind_core.data.benchmarks.spec import BenchmarkSpec, TrainSpec
    from unibind_core.data.modalities import LOADERS

    unknown = sorted(set(entry.raw) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise entry.fail(unknown[0], f"unknown field; fields: {', '.join(REQUIRED + OPTIONAL)}")
    for field in REQUIRED:
        if field not in entry.raw:
            raise entry.fail(field, "missing (required: " + ", ".join(REQUIRED) + ")")
    name = entry.text("name")
    if not NAME.match(name):
        raise entry.fail("name", f"{name!r} is not a partition key (lower case letters, digits, _; a letter first)")
    if name in known:
        raise entry.fail("name", f"{name!r} is already a benchmark")
    choices = {"modality": LOADERS, "reader": READERS}
    for field, registry in choices.items():
        if entry.text(field) not in registry:
            raise entry.fail(field, f"unknown {field} {entry.raw[field]!r}; known: {', '.join(sorted(registry))}")
    captions = entry.text("captions", "class_prompt")
    if captions not in CAPTIONS:
        raise entry.fail("captions", f"{captions!r} is not one of {', '.join(CAPTIONS)}")
    paired = entry.text("paired_benchmark")
    if paired is not None and (paired not in known or paired == name):
        raise entry.fail("paired_benchmark", f"{paired!r} is not another benchmark declared before it or built in")
    train = entry.mapping("train")
    for field, value in train.items():
        kind = TRAIN_FIELDS.get(field)
        if kind is None:
            raise entry.fail(f"train.{field}", f"unknown; fields: {', '.join(TRAIN_FIELDS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(
                value, int)) or not value > 0:
            raise entry.fail(f"train.{field}", f"must be a positive {kind.__name__}, got {value!r}")
    reader_options = entry.mapping("reader_options")
    taken = [p for p in inspect.signature(READERS[entry.raw["reader"]]).parameters if p != "root"]
    for option in reader_options:
        if option not in taken:
            raise entry.fail(f"reader_options.{option}", f"the {entry.raw['reader']} reader has no such option; "
                             f"its options: {', '.join(taken)}")
    noun = entry.text("prompt_noun", "photo")
    root = os.path.expanduser(entry.text("root"))
    return BenchmarkSpec(
        name=name, modality=Modality(entry.raw["modality"]), reader=entry.raw["reader"], root=root, prompt_noun=noun,
        paired_benchmark=paired, reader_options=MappingProxyType(reader_options),
        loader_options=MappingProxyType(entry.mapping("loader_options")), train=TrainSpec(**train),
        caption_template=class_prompt_template(noun) if captions == "class_prompt" else None)


def load_user_benchmarks(path: Path, known: Mapping[str, Any], known_profiles: Mapping[str, Any] = MappingProxyType({})
                         ) -> UserBenchmarks:
    """The benchmarks the file at `path` declares, checked against the `known` (built-in) ones."""
    path = Path(path)
    data = _load_text(path)
    if not isinstance(data, Mapping) or not isinstance(data.get("benchmarks"), list) or not data["benchmarks"]:
        raise ConfigError(f"{path}: expected a mapping with a non-empty list `benchmarks:` (each: "
                          f"{', '.join(REQUIRED)}[, {', '.join(OPTIONAL)}])")
    extra = sorted(set(data) - {"profile", "benchmarks"})
    if extra:
        raise ConfigError(f"{path}: unknown top-level key {extra[0]!r}; keys: profile, benchmarks")
    profile = data.get("profile", DEFAULT_PROFILE)
    if not isinstance(profile, str) or not NAME.match(profile) or profile in known_profiles:
        raise ConfigError(f"{path}: field profile: {profile!r} must be a new profile name (lower case; not "
                          f"{', '.join(sorted(known_profiles))})")
    specs: dict[str, BenchmarkSpec] = {}
    for n, raw in enumerate(data["benchmarks"], 1):
        label = f"#{n}" + (f" ({raw['name']!r})" if isinstance(raw, Mapping) and "name" in raw else "")
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{path}: benchmark {label}: must be a mapping of fields, got {raw!r}")
        spec = _spec(_Entry(path, label, raw), {**known, **specs})
        specs[spec.name] = spec
    return UserBenchmarks(path, profile, MappingProxyType(specs))


def from_environment(known: Mapping[str, Any], known_profiles: Mapping[str, Any],
                     environ: Mapping[str, str] = os.environ) -> UserBenchmarks:
    """The benchmarks of the file UNIBIND_BENCHMARKS names; none when it is unset or empty."""
    value = environ.get(ENV, "").strip()
    if not value:
        return UserBenchmarks(None, DEFAULT_PROFILE, MappingProxyType({}))
    return load_user_benchmarks(Path(value).expanduser(), known, known_profiles)
