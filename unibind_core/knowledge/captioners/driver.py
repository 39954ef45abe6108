"""The loop every model captioner shares: cache, views, batches, bounded retries, quarantine, metrics.

Per manifest row: the view identifies what the model will be shown (content hash + view id), which with
the captioner id and the prompt is the cache key. Rows whose key is cached cost nothing; identical
content in two rows (or two benchmarks) is asked once. The rest are rendered and sent in batches of
`caption.batch_size`; each answer is judged (judge.py) and an unusable one is asked again (attempt n:
sampled, seeded by n) up to `caption.max_bad_answers` times, then the sample is flagged. After every
batch the finished samples go to a new cache shard, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa

from unibind_core.core.progress import Tracker, track
from unibind_core.knowledge.captioners.base import (
    CaptionJob,
    CaptionRequest,
    ModelCaptioner,
    model_source,
)
from unibind_core.knowledge.captioners.cache import CaptionCache, cache_dir_for
from unibind_core.knowledge.captioners.config import caption_prompt
from unibind_core.knowledge.captioners.judge import judge, merge
from unibind_core.knowledge.captioners.views import Identity, ViewContext, mosaic, view_for
from unibind_core.storage.io import content_hash
from unibind_core.storage.tables import CaptionProblem, CaptionStatus

if TYPE_CHECKING:
    from unibind_core.core.settings import Settings


@dataclass
class _Sample:
    key: str
    identity: Identity
    prompt: str
    row: dict
    parts: list[CaptionRequest] = field(default_factory=list)
    answers: dict[int, str | None] = field(default_factory=dict)  # part -> caption (None: flagged part)
    reasons: list[str] = field(default_factory=list)
    tokens: list[int] = field(default_factory=lambda: [0, 0])
    attempts: int = 0
    shortened: bool = False


class CachedCaptioner:
    """The `Captioner` the stage sees for any `ModelCaptioner` (see the module docstring)."""

    def __init__(self, model: ModelCaptioner, s: Settings) -> None:
        self.model, self.cfg = model, s.caption
        self.ctx = ViewContext(s.caption, s.views, model.info.accepts_audio)
        self.id = json.dumps(
            [model.name, model.model, s.caption.max_new_tokens, model.info.extra, s.caption.keep_truncated],
            sort_keys=True,
        )  # a cached flag depends on the judging
        self.cache = CaptionCache(cache_dir_for(s.layout.caption_cache, f"{model.name}-{model.model}-{self.id}"))
        self.refresh = s.refresh  # caption every sample again, the cache not read (new answers are still stored)
        self.source = model_source(model.model)
        self.quarantine: list[dict] = []  # CAPTION_QUARANTINE rows of the last caption() call
        self.prompts: list[str] = []  # the prompt of each row of the last call (the view names the noun)
        self.stats: Counter = Counter()
        self.bad: Counter = Counter()
        self.seconds = 0.0

    def _multi(self) -> str:
        return "" if self.model.info.max_images > 1 else f":{self.cfg.multi_image}"

    def caption(self, manifest: pa.Table, job: CaptionJob) -> list[str | None]:
        view, rows = view_for(job.spec.modality, self.cfg), manifest.to_pylist()
        self.quarantine, self.prompts = [], []
        keys: list[str | None] = []
        samples: dict[str, _Sample] = {}
        for row in track(rows, f"identify {job.spec.name} samples", unit="sample"):  # hashes every file once
            try:
                ident = view.identify(row, job, self.ctx)
            except Exception as exc:
                self._quarantine(row, CaptionProblem.UNREADABLE, f"cannot read: {exc}")
                keys.append(None)
                self.prompts.append(caption_prompt(job.noun, self.cfg.prompt))
                continue
            prompt = caption_prompt(ident.noun, self.cfg.prompt)
            self.prompts.append(prompt)
            key = content_hash(ident.sample_hash, self.id, prompt, ident.view_id + self._multi())
            samples.setdefault(key, _Sample(key, ident, prompt, row))
            keys.append(key)
        stored = {} if self.refresh else self.cache.load(samples)
        self.stats["cache_hits"] += sum(k in stored for k in keys if k is not None)
        todo = [smp for k, smp in samples.items() if k not in stored]
        stored.update(self._run(todo, job, view))
        out = []
        for row, key in zip(rows, keys):
            entry = stored.get(key) if key is not None else None
            if key is not None and entry is None:
                out.append(None)  # unreadable: quarantined while rendering
            elif entry is not None and entry["status"] == CaptionStatus.OK:
                self.stats["shortened"] += bool(entry["shortened"])
                out.append(entry["caption"])
            else:
                if entry is not None:
                    self._quarantine(row, CaptionProblem.FLAGGED, entry["reason"])
                out.append(None)
        self.stats["flagged"] = sum(q["kind"] == CaptionProblem.FLAGGED for q in self.quarantine)
        self.stats["quarantined"] = sum(q["kind"] == CaptionProblem.UNREADABLE for q in self.quarantine)
        return out

    def _quarantine(self, row: dict, kind: CaptionProblem, reason: str) -> None:
        self.quarantine.append(
            {"sample_id": row["sample_id"], "path": row["path"], "kind": str(kind), "reason": reason[:500]}
        )

    def _render(self, smp: _Sample, job: CaptionJob, view) -> bool:
        try:
            seen = view.render(smp.row, job, self.ctx)
        except Exception as exc:
            self._quarantine(smp.row, CaptionProblem.UNREADABLE, f"cannot render: {exc}")
            return False
        images = seen.images
        if len(images) > self.model.info.max_images and self.cfg.multi_image == "together":
            images = (mosaic(images),)
        groups = [images] if len(images) <= self.model.info.max_images else [(im,) for im in images]
        smp.parts = [
            CaptionRequest(f"{smp.key}:{i}", smp.prompt, g, seen.audio, seen.sample_rate)
            for i, g in enumerate(groups or [()])
        ]
        return True

    def _run(self, todo: list[_Sample], job: CaptionJob, view) -> dict[str, dict]:
        """Caption `todo`, a batch at a time; each batch's finished samples are one new cache shard."""
        done: dict[str, dict] = {}
        if not todo:
            return done
        tracker = Tracker(f"caption {job.spec.name} via {self.model.name}", len(todo), unit="sample")
        # a model whose every call has a fixed cost (a launch in its own environment) asks for bigger calls
        size = getattr(self.model, "call_rows", None) or self.cfg.batch_size
        for start in range(0, len(todo), size):
            batch = [smp for smp in todo[start : start + size] if self._render(smp, job, view)]
            rows = self._answer(batch)
            self.cache.append(rows)
            done.update({r["key"]: r for r in rows})
            tracker.advance(
                len(todo[start : start + size]),
                captions_per_s=round(self.rate(), 3),
                flagged=sum(r["status"] == CaptionStatus.FLAGGED for r in done.values()),
            )
        tracker.close()
        return done

    def _answer(self, batch: list[_Sample]) -> list[dict]:
        """Ask every part of `batch`, asking unusable answers again (next attempt) until usable or flagged."""
        owner = {p.key: smp for smp in batch for p in smp.parts}
        pending = [p for smp in batch for p in smp.parts]
        while pending:
            retry = []
            started = time.monotonic()
            for request, reply in self.model.generate(pending):
                smp, part = owner[request.key], int(request.key.rsplit(":", 1)[1])
                smp.tokens[0] += reply.tokens_in
                smp.tokens[1] += reply.tokens_out
                smp.attempts = max(smp.attempts, request.attempt + 1)
                verdict = judge(reply, request.prompt, keep_truncated=self.cfg.keep_truncated)
                if verdict.caption is not None:
                    smp.answers[part] = verdict.caption
                    smp.shortened |= verdict.shortened
                    continue
                self.bad[verdict.reason] += 1
                smp.reasons.append(verdict.reason)
                if request.attempt + 1 >= self.cfg.max_bad_answers:
                    smp.answers[part] = None
                else:
                    retry.append(
                        CaptionRequest(
                            request.key,
                            request.prompt,
                            request.images,
                            request.audio,
                            request.sample_rate,
                            request.attempt + 1,
                        )
                    )
            self.seconds += time.monotonic() - started
            pending = retry
        return [self._row(smp) for smp in batch]

    def _row(self, smp: _Sample) -> dict:
        good = [smp.answers[i] for i in sorted(smp.answers) if smp.answers[i] is not None]
        caption, shortened = (None, False) if not good else (good[0], smp.shortened) if len(good) == 1 else merge(good)
        shortened = shortened or smp.shortened
        self.stats["asked"] += 1  # samples sent to the model this run; "captioned" only those answered usably
        self.stats["captioned"] += bool(good)
        self.stats["tokens_in"] += smp.tokens[0]
        self.stats["tokens_out"] += smp.tokens[1]
        reason = None if good else f"{smp.attempts} unusable answers ({', '.join(sorted(set(smp.reasons)))})"
        return {
            "key": smp.key,
            "sample_hash": smp.identity.sample_hash,
            "captioner": self.id,
            "view": smp.identity.view_id + self._multi(),
            "prompt": smp.prompt,
            "status": str(CaptionStatus.OK if good else CaptionStatus.FLAGGED),
            "caption": caption,
            "reason": reason,
            "attempts": smp.attempts,
            "shortened": shortened,
            "tokens_in": smp.tokens[0],
            "tokens_out": smp.tokens[1],
        }

    def rate(self) -> float:
        """Samples answered per second of generation (flagged ones cost the model as much as captioned ones)."""
        return self.stats["asked"] / self.seconds if self.seconds > 0 else 0.0

    def report(self) -> dict:
        extra = getattr(self.model, "report", None)
        return {
            "captioner_id": self.id,
            "captioned_new": self.stats["captioned"],
            "asked_new": self.stats["asked"],
            "cache_hits": self.stats["cache_hits"],
            "captions_per_s": round(self.rate(), 3),
            "generate_seconds": round(self.seconds, 3),
            "tokens_in": self.stats["tokens_in"],
            "tokens_out": self.stats["tokens_out"],
            "shortened": self.stats["shortened"],
            "flagged": self.stats["flagged"],
            "quarantined": self.stats["quarantined"],
            "bad_answers": dict(self.bad),
            "cache_shards_set_aside": list(self.cache.set_aside),
            **({"model_report": extra()} if extra is not None else {}),
        }
