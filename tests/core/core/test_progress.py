"""Progress reaches whoever listens (a Dagster run log, a CLI), throttled, without the library knowing who."""

from __future__ import annotations

import threading

import numpy as np

from unibind_core.core.progress import ProgressEvent, Tracker, reporting, track
from unibind_core.method.aligners.loop import HeadConfig, train_head


def test_track_reports_first_and_last_and_throttles_between():
    events: list[ProgressEvent] = []
    with reporting(events.append):
        assert list(track(range(1000), "count", unit="x", min_interval=3600)) == list(range(1000))
    assert [e.done for e in events] == [1, 1000]  # the first step, then nothing until the last
    assert events[-1].finished and events[-1].total == 1000


def test_every_step_when_unthrottled_with_metrics_in_the_line():
    events: list[ProgressEvent] = []
    with reporting(events.append):
        t = Tracker("train", 3, unit="epoch", min_interval=0)
        for i in range(3):
            t.advance(loss=1.0 / (i + 1), steps=i)
    assert [e.done for e in events] == [1, 2, 3]
    assert events[1].line().startswith("train: 2/3 epoch (67%)")
    assert "loss=0.5000" in events[1].line() and "steps=1" in events[1].line()


def test_no_listener_outside_reporting_and_listeners_do_not_leak_across_threads():
    seen: list[str] = []
    list(track(range(3), "unheard"))  # nobody listens: nothing happens, nothing fails

    def worker():
        list(track(range(2), "in a thread", min_interval=0))  # a thread started inside has its own context

    with reporting(lambda e: seen.append(e.task)):
        th = threading.Thread(target=worker)
        th.start(), th.join()
        list(track(range(2), "inside", min_interval=0))
    list(track(range(2), "after"))
    assert seen == ["inside", "inside"]


def test_head_training_reports_loss_and_eval_accuracy_per_epoch():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = np.arange(64) % 4
    centres = np.eye(4, 8, dtype=np.float32)
    events: list[ProgressEvent] = []
    with reporting(events.append):
        _, history = train_head(
            x, x, y, x[:16], y[:16], centres, np.arange(4), HeadConfig(epochs=4, batch_size=16), label="toy"
        )
    assert [e.done for e in events] == [1, 2, 3, 4] and {e.task for e in events} == {"fine-tune toy"}
    assert [e.metrics["loss"] for e in events] == [h["loss"] for h in history[1:]]
    assert [e.metrics["eval_accuracy"] for e in events] == [h["eval_accuracy"] for h in history[1:]]
