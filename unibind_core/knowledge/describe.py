"""Category descriptions (docs/method.md §1): many short sentences per category from a `Describer`.

Backends are chosen by name from DESCRIBERS. The offline default is the template describer; LLM
backends (OpenAI, OpenAI-compatible servers, local transformers) plug into the same Protocol.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from unibind_core.core.registry import Registry
from unibind_core.data.benchmarks.manifest import ClassInfo
from unibind_core.storage.io import content_hash

if TYPE_CHECKING:
    from unibind_core.core.settings import Settings


def article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def seed_sentence(noun: str, name: str) -> str:
    """The paper's seed sentence with modality-aware wording: 'A photo of a dog', 'A sound of a dog'."""
    return f"{article(noun).capitalize()} {noun} of {article(name)} {name}"


def paper_prompt(n: int, noun: str, name: str) -> str:
    """docs/method.md §1: the prompt the paper sends to GPT-4 / LLaMA for one category."""
    return f"Please generate {n} sentences related to this sentence <{seed_sentence(noun, name)}>"


@dataclass(frozen=True)
class Description:
    text: str
    prompt: str


class Describer(Protocol):
    """What the descriptions stage needs. Optional extras, used when a describer has them:

    - `describe_many(categories, noun, n) -> dict[class_key, list[Description]]`: all categories at once,
      so an LLM backend can keep requests of different categories in flight together;
    - `report() -> dict`: accounting (requests, tokens, cost, cache hits, flagged categories) for metadata;
    - classmethod `from_settings(settings)`: construction from the pipeline settings.
    """

    source: str  # e.g. "template" or "llm:gpt-4o": the knowledge base's Source column

    def describe(self, category: ClassInfo, noun: str, n: int) -> list[Description]:
        """Up to `n` unique descriptions of `category` as seen through a `noun` ("photo", "sound"...)."""
        ...


def describe_all(
    describer: Describer, categories: Sequence[ClassInfo], noun: str, n: int
) -> dict[str, list[Description]]:
    """Descriptions of every category: in one call when the describer can, else one category at a time."""
    many = getattr(describer, "describe_many", None)
    if many is not None:
        return many(categories, noun, n)
    return {c.key: describer.describe(c, noun, n) for c in categories}


def describer_report(describer: Describer) -> dict:
    report = getattr(describer, "report", None)
    return report() if report is not None else {}


def build_describer(settings: Settings) -> Describer:
    """The configured describer, built from the settings (its `from_settings`)."""
    return DESCRIBERS.from_settings(settings.describer, settings)


# Parts of the template describer's sentences: enough variety that ranking them against data matters.
_OPENINGS = (
    "{A} {noun} of {a} {name}",
    "{A} {noun} showing {a} {name}",
    "This {noun} captures {a} {name}",
    "{A} clear {noun} of the {name}",
    "{A} {noun} in which {a} {name} appears",
    "{A} close-up {noun} of {a} {name}",
    "{A} typical {noun} of {a} {name}",
    "{A} low-resolution {noun} of {a} {name}",
)
_SUBJECTS = (
    "",
    ", the digit {name}",
    ", a handwritten {name}",
    ", the number {name}",
    ", {a} {name} written by hand",
    ", a numeral that reads {name}",
)
_DETAILS = (
    "",
    " with thick strokes",
    " with thin strokes",
    " slightly tilted",
    " drawn quickly",
    " on a plain background",
    " that is easy to recognise",
    " in a small size",
    " centred in view",
    " with slightly blurry edges",
    " rendered in high contrast",
    " among everyday examples",
)


class TemplateDescriber:
    """Offline describer: combines sentence parts, deterministically shuffled per category and seed."""

    source = "template"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    @classmethod
    def from_settings(cls, settings: Settings) -> TemplateDescriber:
        return cls(seed=settings.seed)

    @staticmethod
    def capacity() -> int:
        return len(_OPENINGS) * len(_SUBJECTS) * len(_DETAILS)

    def describe(self, category: ClassInfo, noun: str, n: int) -> list[Description]:
        if n > self.capacity():
            raise ValueError(
                f"the template describer writes at most {self.capacity()} descriptions "
                f"per category; {n} were asked for {category.key!r}"
            )
        fields = {"A": article(noun).capitalize(), "a": article(category.name), "noun": noun, "name": category.name}
        combos = list(itertools.product(_OPENINGS, _SUBJECTS, _DETAILS))
        rng = np.random.default_rng(int(content_hash(str(self.seed), category.key)[:8], 16))
        prompt = paper_prompt(n, noun, category.name)
        picked = (combos[i] for i in rng.permutation(len(combos))[:n])
        return [Description((o + s + d).format(**fields) + ".", prompt) for o, s, d in picked]


# LLM backends are imported on first use (unibind_core/knowledge/llm): the template describer needs no client.
DESCRIBERS: Registry[type] = Registry(
    "describer",
    {
        "template": TemplateDescriber,
        "openai": "unibind_core.knowledge.llm.openai_describer:OpenAIDescriber",  # OpenAI API or any compatible server
        "hf": "unibind_core.knowledge.llm.hf_describer:HFDescriber",  # a local transformers causal LM
    },
)
