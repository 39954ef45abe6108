from __future__ import annotations

import random
import string

import pytest

from unibind_core.data.benchmarks.manifest import ClassInfo
from unibind_core.evaluation.checks import check_kb
from unibind_core.knowledge.describe import TemplateDescriber, paper_prompt, seed_sentence
from unibind_core.knowledge.kb import (
    MAX_CLIP_BPE_TOKENS,
    caption_table,
    carry_created_at,
    clip_token_count,
    describe_categories,
    fits_clip,
    merge_kb,
)
from unibind_core.storage.tables import KB_SCHEMA

CLASSES = [ClassInfo(0, "c0", "seven"), ClassInfo(1, "c1", "eight")]


def test_paper_prompt_with_modality_aware_wording():
    assert seed_sentence("sound", "eight") == "A sound of an eight"
    assert (
        paper_prompt(1000, "photo", "dog")
        == "Please generate 1000 sentences related to this sentence <A photo of a dog>"
    )


def test_template_describer_is_deterministic_unique_and_bounded():
    d = TemplateDescriber(seed=3)
    a = [x.text for x in d.describe(CLASSES[0], "photo", 100)]
    assert a == [x.text for x in TemplateDescriber(seed=3).describe(CLASSES[0], "photo", 100)]
    assert len(set(a)) == 100 and all("seven" in t for t in a)
    assert a != [x.text for x in TemplateDescriber(seed=4).describe(CLASSES[0], "photo", 100)]
    with pytest.raises(ValueError, match="at most"):
        d.describe(CLASSES[0], "photo", d.capacity() + 1)


def test_clip_token_count_uses_the_real_bpe():
    assert clip_token_count("a photo of a dog") == 5
    assert clip_token_count("word " * 80) == 80


class _LongDescriber:
    source = "test"

    def describe(self, category, noun, n):
        from unibind_core.knowledge.describe import Description

        return [Description("short one", "p"), Description("long " * (MAX_CLIP_BPE_TOKENS + 1), "p")][:n]


def test_over_long_descriptions_are_dropped_and_counted():
    table, dropped = describe_categories(_LongDescriber(), CLASSES, "photo", 2, "d", "image")
    assert table.num_rows == 2 and dropped == {"c0": 1, "c1": 1}
    assert table["ID"].to_pylist() == ["cat:c0:0", "cat:c1:0"]


def test_rebuilding_keeps_created_at_so_tables_are_identical():
    first, _ = describe_categories(TemplateDescriber(), CLASSES, "photo", 5, "d", "image")
    again, _ = describe_categories(TemplateDescriber(), CLASSES, "photo", 5, "d", "image")
    assert carry_created_at(again, first).equals(first)
    changed, _ = describe_categories(TemplateDescriber(seed=9), CLASSES, "photo", 5, "d", "image")
    merged = carry_created_at(changed, first)
    assert merged["created_at"].to_pylist() == changed["created_at"].to_pylist()


def test_kb_check_flags_duplicates_empties_and_missing_categories():
    desc, _ = describe_categories(TemplateDescriber(), CLASSES[:1], "photo", 3, "d", "image")
    caps = caption_table(["s1", "s1"], ["c0", "c0"], ["x", " "], "manifest", "p", "d", "image")
    kb = merge_kb(desc, caps)
    assert kb.schema.equals(KB_SCHEMA)
    out = check_kb(kb, ["c0", "c1"])
    assert not out.passed
    assert "1 duplicated IDs" in out.description and "1 empty" in out.description and "c1" in out.description
    good = merge_kb(
        *describe_categories(TemplateDescriber(), CLASSES, "photo", 3, "d", "image")[:1],
        caption_table(["s1"], ["c0"], ["x"], "manifest", "p", "d", "image"),
    )
    assert check_kb(good, ["c0", "c1"]).passed


def test_the_fast_clip_count_and_limit_check_equal_the_tokenizer():
    from unibind_core.knowledge.kb import _clip_tokenizer

    texts = [
        "A photo of a dog.",
        "It's 3:45pm -- the DOG's 2nd walk (of 10)!",
        "  spaces   and\ttabs  ",
        "Numbers 12345 and symbols #$%^*{}[]|\\<>?~`",
        "don't won't they're I'll we've she'd",
        "antidisestablishmentarianism pneumonoultramicroscopic",
        "x" * 200,
        "",
        "café & crème",
        "Fish &amp; chips",
        "naïve résumé",
        "emoji 🐶 dog",
    ]  # the last four: slow path
    rng = random.Random(0)
    alphabet = string.ascii_letters + string.digits + string.punctuation + "    "
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 120))) for _ in range(300)]
    for text in texts:
        exact = len(_clip_tokenizer().encode(text))
        assert clip_token_count(text) == exact, text
        assert fits_clip(text) == (exact <= MAX_CLIP_BPE_TOKENS), text  # its shortcut never says yes wrongly
