"""Zero-shot prompt sets for the baseline (docs/method.md §5): CLIP's 80 ImageNet templates and one template."""

from __future__ import annotations

from functools import lru_cache

from unibind_core.knowledge.describe import article


@lru_cache(maxsize=1)
def clip_templates() -> tuple:
    from open_clip.zero_shot_metadata import OPENAI_IMAGENET_TEMPLATES  # ships with open-clip-torch

    return tuple(OPENAI_IMAGENET_TEMPLATES)


def template_texts(class_name: str) -> list[str]:
    """The 80 CLIP default templates filled with one class name."""
    return [t(class_name) for t in clip_templates()]


def single_template(noun: str, class_name: str) -> str:
    return f"{article(noun)} {noun} of {article(class_name)} {class_name}."


PROMPT_SETS = {"templates": "openai_imagenet_80", "single_template": "a {noun} of a {class}."}
