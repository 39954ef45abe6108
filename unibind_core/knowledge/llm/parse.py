"""From a model's answer to clean, CLIP-sized, deduplicable sentences (docs/method.md §1).

Models answer the paper prompt as numbered lists, bullets, JSON arrays, with preambles ("Here are 50
sentences:") and, when cut off by the token budget, a half sentence at the end. Refusals are told apart
from answers so they can be retried rather than stored.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from unibind_core.knowledge.kb import MAX_CLIP_BPE_TOKENS, fits_clip
from unibind_core.knowledge.llm.cache import Reply

_MARKER = re.compile(r"^\s*(?:[-*•·–—+>]+|\(?\d{1,4}\s*[.):\]]|\d{1,4}\s+-|[a-z][.)])\s+", re.IGNORECASE)
_INLINE_NUMBERS = re.compile(r"(?:^|\s)\d{1,4}[.)]\s+")
_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")
_REFUSAL = re.compile(
    r"^\W*(i['’]m sorry|i am sorry|sorry,|i cannot|i can['’]t|i can not|i won['’]t|"
    r"i am unable|i['’]m unable|as an ai|unfortunately,? i)",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_CLAUSE_END = re.compile(r"\s*(?:[,;:]|\s[-–—]\s)\s*")
_JSON_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"\s*[,\]]')  # a complete string item of a JSON array
_MIN_WORDS = 3  # a shortened description keeps at least this many words, else it is dropped


def _strip_item(line: str) -> str:
    line = _MARKER.sub("", line, count=1).strip()
    line = re.sub(r"^\*\*|\*\*$", "", line).strip()  # markdown bold around a whole item
    if len(line) >= 2 and line[0] in "\"'“‘" and line[-1] in "\"'”’":
        line = line[1:-1].strip()
    return re.sub(r"\s+", " ", line)


def _json_items(text: str) -> list[str] | None:
    start, end = text.find("["), text.rfind("]")
    candidates = [text] + ([text[start : end + 1]] if 0 <= start < end else [])
    for candidate in candidates:
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(data, dict):  # {"sentences": [...]}
            data = next((v for v in data.values() if isinstance(v, list)), None)
        if isinstance(data, list):
            return [str(x) for x in data if isinstance(x, (str, int, float))]
    if text.lstrip()[:1] in "[{":  # a JSON array cut off by the token budget: its complete strings
        return [json.loads(f'"{m}"') for m in _JSON_STRING.findall(text)]
    return None


def _is_preamble(line: str) -> bool:
    """'Here are 50 sentences about a dog:' and the like, which are not descriptions."""
    return line.endswith(":") or bool(_REFUSAL.match(line))


def parse_sentences(text: str, truncated: bool = False) -> list[str]:
    """Sentences of an answer in order; `truncated` (finish_reason == "length") drops the cut-off last one."""
    text = _FENCE.sub("", text.strip())
    items = _json_items(text) if "[" in text or text[:1] == "{" else None
    if not items or not any(re.search(r"[^\W\d_]", x) for x in items):
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if len(lines) == 1 and len(_INLINE_NUMBERS.findall(lines[0])) > 1:  # "1. a 2. b 3. c" on one line
            lines = [p for p in _INLINE_NUMBERS.split(lines[0]) if p.strip()]
        elif len(lines) == 1:  # one paragraph of sentences
            lines = _SENTENCE_END.split(lines[0])
        items = [ln for ln in lines if not _is_preamble(ln.strip())]
    out = [s for s in (_strip_item(x) for x in items) if re.search(r"[^\W\d_]", s)]
    return out[:-1] if truncated and len(out) > 1 else out


def is_refusal(reply: Reply) -> bool:
    if reply.refusal or reply.finish_reason == "content_filter":
        return True
    lines = [ln for ln in reply.text.strip().splitlines() if ln.strip()]
    return bool(lines) and len(lines) <= 2 and bool(_REFUSAL.match(lines[0]))


@lru_cache(maxsize=1 << 18)
def normalize(text: str) -> str:
    """Dedup key: case, accents' compatibility forms, punctuation and spacing do not make a new description."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def fit_clip(text: str, limit: int = MAX_CLIP_BPE_TOKENS) -> str | None:
    """`text` if it fits the CLIP limit, else its longest prefix ending at a sentence, then at a clause,
    boundary that fits (docs/method.md §1: ≤ 75 BPE tokens), else None (the description is dropped)."""
    if fits_clip(text, limit):
        return text
    for boundary, closing in ((_SENTENCE_END, ""), (_CLAUSE_END, ".")):
        parts = [m.start() for m in boundary.finditer(text)]
        for cut in reversed(parts):
            head = text[:cut].rstrip(" ,;:-–—") + closing
            if len(head.split()) >= _MIN_WORDS and fits_clip(head, limit):
                return head
    return None


@dataclass(frozen=True)
class Judgement:
    sentences: tuple[str, ...] = ()
    reason: str | None = None  # why the answer is unusable: "refusal", "empty", "malformed"
    shortened: int = 0
    dropped_over_long: int = 0


def judge(reply: Reply, limit: int = MAX_CLIP_BPE_TOKENS) -> Judgement:
    """Usable sentences of an answer (shortened to the CLIP limit), or the reason it must be asked again."""
    if is_refusal(reply):
        return Judgement(reason="refusal")
    if not reply.text.strip():
        return Judgement(reason="empty")
    raw = parse_sentences(reply.text, truncated=reply.finish_reason == "length")
    fitted = [fit_clip(s, limit) for s in raw]
    kept = tuple(f for f in fitted if f is not None)
    if not kept:
        return Judgement(reason="malformed" if not raw else "over_long", dropped_over_long=len(raw))
    return Judgement(
        kept, None, sum(f is not None and f != s for f, s in zip(fitted, raw)), sum(f is None for f in fitted)
    )
