"""Answers as models really write them -> clean, CLIP-sized sentences; refusals told apart."""

from __future__ import annotations

import pytest

from unibind_core.knowledge.kb import MAX_CLIP_BPE_TOKENS, clip_token_count
from unibind_core.knowledge.llm.cache import Reply
from unibind_core.knowledge.llm.parse import fit_clip, is_refusal, judge, normalize, parse_sentences

EXPECTED = ["A dog runs on the grass.", "A dog sleeps by the fire.", "A dog barks at a cat."]


@pytest.mark.parametrize(
    "answer",
    [
        "1. A dog runs on the grass.\n2. A dog sleeps by the fire.\n3. A dog barks at a cat.",
        "Here are 3 sentences about a dog:\n\n1) A dog runs on the grass.\n2) A dog sleeps by the fire.\n"
        "3) A dog barks at a cat.",
        "- A dog runs on the grass.\n* A dog sleeps by the fire.\n• A dog barks at a cat.",
        '["A dog runs on the grass.", "A dog sleeps by the fire.", "A dog barks at a cat."]',
        '```json\n{"sentences": ["A dog runs on the grass.", "A dog sleeps by the fire.", '
        '"A dog barks at a cat."]}\n```',
        'Sure! Here they are:\n["A dog runs on the grass.", "A dog sleeps by the fire.", "A dog barks at a cat."]',
        "1. A dog runs on the grass. 2. A dog sleeps by the fire. 3. A dog barks at a cat.",
        '1. "A dog runs on the grass."\n2. **A dog sleeps by the fire.**\n3.   A dog  barks at a cat.',
        "A dog runs on the grass. A dog sleeps by the fire. A dog barks at a cat.",
        '["A dog runs on the grass.", "A dog sleeps by the fire.", "A dog barks at a cat.", "A dog ch',
    ],
)
def test_numbered_bulleted_and_json_answers_parse_to_the_same_sentences(answer):
    assert parse_sentences(answer) == EXPECTED


def test_a_truncated_answer_loses_its_cut_off_last_item():
    answer = "1. A dog runs on the grass.\n2. A dog sleeps by the fire.\n3. A dog barks at"
    assert parse_sentences(answer, truncated=True) == EXPECTED[:2]
    assert judge(Reply(answer, finish_reason="length")).sentences == tuple(EXPECTED[:2])


@pytest.mark.parametrize(
    "reply, reason",
    [
        (Reply("I'm sorry, but I can't help with that request."), "refusal"),
        (Reply("", refusal="I cannot comply."), "refusal"),
        (Reply("1. a dog", finish_reason="content_filter"), "refusal"),
        (Reply("   \n "), "empty"),
        (Reply("1.\n2.\n---\n42"), "malformed"),
    ],
)
def test_refusals_empty_and_malformed_answers_are_rejected_with_a_reason(reply, reason):
    assert judge(reply).reason == reason


def test_a_list_that_opens_with_an_apology_is_still_an_answer():
    reply = Reply(
        "Sorry, I can only write three:\n1. A dog runs on the grass.\n2. A dog sleeps by the fire.\n"
        "3. A dog barks at a cat."
    )
    assert not is_refusal(reply) and judge(reply).sentences == tuple(EXPECTED)


def test_normalized_text_ignores_case_punctuation_and_spacing():
    assert normalize("A  Dog, running!") == normalize("a dog running") != normalize("a dog sleeping")


def test_over_long_sentences_are_cut_at_a_sentence_then_a_clause_boundary_or_dropped():
    first = "A dog runs across a wide green meadow under a clear blue sky."
    long_tail = " It" + " chases a red ball" * 20 + "."
    assert clip_token_count(first + long_tail) > MAX_CLIP_BPE_TOKENS
    assert fit_clip(first + long_tail) == first  # sentence boundary
    clause = "A dog runs across a wide green meadow, " + "chasing a red ball and " * 15 + "barking."
    cut = fit_clip(clause)
    assert cut == "A dog runs across a wide green meadow." and clip_token_count(cut) <= MAX_CLIP_BPE_TOKENS
    assert fit_clip("dog " * 90) is None  # no boundary: dropped
    verdict = judge(Reply(f"1. {first + long_tail}\n2. {'dog ' * 90}\n3. {EXPECTED[0]}"))
    assert verdict.sentences == (first, EXPECTED[0]) and verdict.shortened == 1 and verdict.dropped_over_long == 1
