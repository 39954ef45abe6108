"""Unusable answers and the CLIP length limit of captions (docs/method.md §1: at most 77 tokens).

An answer is unusable when it is empty, only repeats the prompt, refuses, or was cut off at the answer
budget (finish reason `length`: a list ending mid-sentence is no caption; `caption.keep_truncated` keeps
it); the driver retries it
(sampled, seeded by the attempt) a bounded number of times and then flags the sample: an unusable
answer is never written as a description. A usable one longer than 75 CLIP BPE tokens (the real CLIP
tokenizer, kb.clip_token_count) is cut at the last word boundary that fits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from unibind_core.knowledge.kb import MAX_CLIP_BPE_TOKENS, clip_token_count, fits_clip
from unibind_core.knowledge.llm.cache import Reply
from unibind_core.knowledge.llm.parse import is_refusal, normalize

_ANSWER_LEAD = re.compile(r"^\s*(?:answer|caption|description)\s*:\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    caption: str | None  # the caption to keep, already fitted to the limit
    reason: str | None = None  # why not: "empty", "repeats_prompt", "refusal", "truncated"
    shortened: bool = False


def clean(text: str, prompt: str) -> str:
    """The answer without a leading copy of the prompt, an 'Answer:' lead, quotes or extra spaces."""
    text = " ".join(text.split())
    if prompt and normalize(text).startswith(normalize(prompt)):
        words = len(prompt.split())  # the prompt's words are the answer's first words (modulo punctuation)
        text = " ".join(text.split()[words:])
    text = _ANSWER_LEAD.sub("", text).strip(" \"'“”")
    return text


def shorten(text: str, limit: int = MAX_CLIP_BPE_TOKENS) -> str:
    """The longest word prefix of `text` within `limit` CLIP BPE tokens (binary search over words)."""
    if fits_clip(text, limit):
        return text
    words = text.split()
    low, high = 1, len(words)  # the answer lies in [low, high): words[:low] fits (or nothing does)
    while low < high - 1:
        mid = (low + high) // 2
        if clip_token_count(" ".join(words[:mid])) <= limit:
            low = mid
        else:
            high = mid
    return " ".join(words[:low]).rstrip(" ,;:-")


def judge(reply: Reply, prompt: str, limit: int = MAX_CLIP_BPE_TOKENS, keep_truncated: bool = False) -> Verdict:
    if is_refusal(reply):
        return Verdict(None, "refusal")
    if not normalize(reply.text):
        return Verdict(None, "empty")
    if reply.finish_reason == "length" and not keep_truncated:
        return Verdict(None, "truncated")
    text = clean(reply.text, prompt)
    if not re.search(r"[^\W\d_]", text):
        return Verdict(None, "repeats_prompt")
    if normalize(text) in normalize(prompt):
        return Verdict(None, "repeats_prompt")
    fitted = shorten(text, limit)
    return Verdict(fitted, None, fitted != text)


def merge(captions: list[str], limit: int = MAX_CLIP_BPE_TOKENS) -> tuple[str, bool]:
    """Captions of several views of one sample (multi_image=each) as one: distinct ones joined by '; ',
    in view order, fitted to the limit; True when that shortened them."""
    distinct = list(dict.fromkeys(c.rstrip(". ") for c in captions))
    joined = "; ".join(distinct) + "."
    fitted = shorten(joined, limit)
    return fitted, fitted != joined
