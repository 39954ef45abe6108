"""Progress of long work, reported through a callback so the library never depends on who listens.

Library code wraps its loops in `track(...)`; whoever runs a stage installs a callback with
`reporting(cb)` for the duration (a Dagster asset forwards events to `context.log`, the CLI shows tqdm
bars). The callback lives in a context variable, so concurrent runs in one process do not mix, and a
stage run without a listener costs one cheap `time.monotonic()` per step.

Events are throttled per task (at most one per `min_interval` seconds, plus the first and the last);
tasks whose steps are few and each worth a line (training epochs) pass `min_interval=0`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


@dataclass(frozen=True)
class ProgressEvent:
    task: str  # e.g. "fine-tune head demo_audio"
    done: int
    total: int | None
    unit: str
    elapsed_s: float
    metrics: Mapping[str, float] = field(default_factory=dict)
    message: str | None = None  # a free-text line (an external script's output) instead of a count

    @property
    def finished(self) -> bool:
        return self.total is not None and self.done >= self.total

    def line(self) -> str:
        """One log line: `task: 3/20 epochs (15%), 1.2 epochs/s, loss=1.2345 eval_accuracy=0.9120`."""
        if self.message is not None:
            return f"{self.task}: {self.message}"
        count = f"{self.done}/{self.total}" if self.total is not None else f"{self.done}"
        pct = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        rate = f", {self.done / self.elapsed_s:.1f} {self.unit}/s" if self.elapsed_s > 0 and self.done else ""
        numbers = " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in self.metrics.items())
        return f"{self.task}: {count} {self.unit}{pct}{rate}{', ' + numbers if numbers else ''}"


ProgressCallback = Callable[[ProgressEvent], None]

_LISTENER: ContextVar[ProgressCallback | None] = ContextVar("unibind_progress", default=None)
_BARS: ContextVar[bool] = ContextVar("unibind_progress_bars", default=False)


@contextmanager
def reporting(callback: ProgressCallback | None = None, bars: bool = False) -> Iterator[None]:
    """Send the progress of everything run inside to `callback`; `bars` adds tqdm bars on stderr."""
    tokens = (_LISTENER.set(callback), _BARS.set(bars))
    try:
        yield
    finally:
        _LISTENER.reset(tokens[0])
        _BARS.reset(tokens[1])


class Tracker:
    """Counts steps of one task and reports them; `advance(n, **metrics)` after each step."""

    def __init__(self, task: str, total: int | None, unit: str = "item", min_interval: float = 5.0) -> None:
        self.task, self.total, self.unit, self.min_interval = task, total, unit, min_interval
        self.done, self._start = 0, time.monotonic()
        self._last: float | None = None
        self._listener = _LISTENER.get()
        self._bar = tqdm(total=total, desc=task, unit=unit, leave=False) if _BARS.get() else None

    def advance(self, n: int = 1, **metrics: float) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            if metrics:
                self._bar.set_postfix({k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()})
        if self._listener is None:
            return
        now = time.monotonic()
        last = self.total is not None and self.done >= self.total
        if self._last is None or last or now - self._last >= self.min_interval:
            self._last = now
            self._listener(ProgressEvent(self.task, self.done, self.total, self.unit, now - self._start, dict(metrics)))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def note(task: str, message: str) -> None:
    """Send one free-text line to the installed listener (not throttled: callers send few)."""
    listener = _LISTENER.get()
    if listener is not None:
        listener(ProgressEvent(task, 0, None, "line", 0.0, message=message))


def track(
    items: Iterable[T], task: str, total: int | None = None, unit: str = "item", min_interval: float = 5.0
) -> Iterator[T]:
    """Yield `items`, reporting one step after each item has been processed by the loop body."""
    if total is None:
        total = len(items) if hasattr(items, "__len__") else None  # type: ignore[arg-type]
    tracker = Tracker(task, total, unit, min_interval)
    try:
        for item in items:
            yield item
            tracker.advance()
    finally:
        tracker.close()
