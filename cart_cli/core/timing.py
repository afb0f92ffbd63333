"""When each order of a run started and ended, and when it reached each stage: a batch listener.

The HTML report draws its waterfalls from this, and ``monitor`` its per-stage histograms. A
stage is a local step (session, key, encrypt, submit) or an event of the order (creating-cart,
item-added, shipping-updated, order-placed); it lasts until the next one, the last until the
order ended. Failed orders keep the stages they reached. Times are seconds on a monotonic clock,
from the start of the run (``Timeline.t0``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cart_cli.core.events import stage_of
from cart_cli.core.runner import Listener


@dataclass
class Span:
    start: float  # seconds from the run's start
    end: float | None = None
    marks: list[tuple[str, float]] = field(default_factory=list)  # (stage, seconds from start)

    def stages(self) -> list[tuple[str, float, float]]:
        """(stage, began, lasted), seconds from the order's start; a stage reported twice in a
        row (an item-added per item) is one stretch."""
        end = (self.end if self.end is not None else self.start) - self.start
        merged: list[tuple[str, float]] = []
        for stage, at in self.marks:
            if not merged or merged[-1][0] != stage:
                merged.append((stage, at))
        out = []
        for i, (stage, at) in enumerate(merged):
            until = merged[i + 1][1] if i + 1 < len(merged) else max(end, at)
            out.append((stage, at, max(0.0, until - at)))
        return out


class Timeline(Listener):
    """A listener recording a Span for every order the run launches, by job position."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.t0 = clock()
        self.spans: dict[int, Span] = {}
        self.lock = threading.Lock()

    def started(self, job) -> None:
        with self.lock:
            self.spans[job.position] = Span(self.clock() - self.t0)

    def event(self, job, ev) -> None:
        stage = stage_of(ev)
        if stage is None:
            return
        now = self.clock() - self.t0
        with self.lock:
            span = self.spans.get(job.position)
            if span is not None:
                span.marks.append((stage, now - span.start))

    def finished(self, outcome) -> None:
        now = self.clock() - self.t0
        with self.lock:
            span = self.spans.get(outcome.job.position)
            if span is not None and span.end is None:
                span.end = now

    def close(self) -> None: ...
