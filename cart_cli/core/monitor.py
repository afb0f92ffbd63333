"""cart-cli monitor: smoke orders on a schedule, as Prometheus metrics (a blackbox exporter for
checkout).

Each round runs the orders through the batch runner (core.runner: the same ledger, budget and
submit path as ``batch``), then records what happened in a registry of its own:

- ``cart_cli_probe_success{merchant,order}``: 1 if the last probe passed (placed, or failed as
  its ``expect:`` said), else 0;
- ``cart_cli_probe_duration_seconds{merchant,order}``: a histogram of whole orders;
- ``cart_cli_probe_stage_duration_seconds{merchant,order,stage}``: a histogram per stage;
- ``cart_cli_probe_outcomes_total{merchant,order,outcome,code}``: placed, not_placed or unknown,
  with the error's code ("" when placed);
- ``cart_cli_probe_last_success_timestamp_seconds{merchant,order}``;
- ``cart_cli_probe_expectation_met{merchant,order}`` (orders with an ``expect:``);
- ``cart_cli_monitor_rounds_total``, ``cart_cli_monitor_round_duration_seconds``,
  ``cart_cli_monitor_last_round_timestamp_seconds``.

Rounds never overlap: the next starts ``every`` seconds after the last one started, or as soon
as it ends if it took longer. prometheus_client is imported here only: nothing else needs it."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cart_cli.core import runner
from cart_cli.core.errors import UsageError
from cart_cli.core.timing import Timeline

LABELS = ("merchant", "order")
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 60, 120)
STAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def parse_every(text: str) -> float:
    """``--every``: 30s, 5m, 1h, 250ms, or plain seconds. At least 10 ms."""
    from cart_cli.wire.text import has_foreign_digits

    raw = text.strip().lower()
    unit = next((u for u in ("ms", "s", "m", "h") if raw.endswith(u)), "")
    number = raw[: -len(unit)] if unit else raw
    try:
        if has_foreign_digits(number):
            raise ValueError
        seconds = float(number) * UNITS.get(unit, 1)
        if not math.isfinite(seconds):  # inf, nan, 1e400
            raise ValueError
    except ValueError:
        raise UsageError(f"--every {text!r} is not a duration like 30s, 5m or 1h") from None
    if seconds < 0.01:
        raise UsageError(f"--every {text!r} must be at least 10ms")
    return seconds


class Metrics:
    """The monitor's metrics. A scrape sees whole rounds: a round is observed, and the registry
    collected, under one lock (else a scrape could read the durations before a round and its
    counters after it). Serve this object, not its ``registry``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        from prometheus_client import (
            CollectorRegistry,
            Counter,
            Gauge,
            Histogram,
            disable_created_metrics,
        )

        disable_created_metrics()  # no *_created series: noise for a probe's counters
        r = self.registry = CollectorRegistry()
        self.success = Gauge(
            "cart_cli_probe_success",
            "1 if the order's last probe passed (placed, or failed as its expect: said), else 0",
            LABELS,
            registry=r,
        )
        self.duration = Histogram(
            "cart_cli_probe_duration_seconds",
            "How long an order took, start to finish",
            LABELS,
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.stage = Histogram(
            "cart_cli_probe_stage_duration_seconds",
            "How long each stage of an order took (session, key, encrypt, submit, "
            "creating-cart, item-added, shipping-updated, order-placed)",
            (*LABELS, "stage"),
            buckets=STAGE_BUCKETS,
            registry=r,
        )
        self.outcomes = Counter(
            "cart_cli_probe_outcomes",
            "Probes by outcome (placed, not_placed, unknown) and error code",
            (*LABELS, "outcome", "code"),
            registry=r,
        )
        self.last_success = Gauge(
            "cart_cli_probe_last_success_timestamp_seconds",
            "When the order last passed (Unix time)",
            LABELS,
            registry=r,
        )
        self.expectation = Gauge(
            "cart_cli_probe_expectation_met",
            "1 if the last probe met the order's expect:, else 0 (orders with one)",
            LABELS,
            registry=r,
        )
        self.rounds = Counter("cart_cli_monitor_rounds", "Rounds run", registry=r)
        self.round_duration = Gauge(
            "cart_cli_monitor_round_duration_seconds", "How long the last round took", registry=r
        )
        self.last_round = Gauge(
            "cart_cli_monitor_last_round_timestamp_seconds",
            "When the last round ended (Unix time)",
            registry=r,
        )

    def declare(self, jobs: list) -> None:
        """Every order's series from the start (0 until it passes), so that rate() and
        absent() work from the first scrape."""
        for job in jobs:
            labels = (job.order.merchant, job.name)
            self.success.labels(*labels)
            self.duration.labels(*labels)
            self.outcomes.labels(*labels, runner.GROUP_PLACED, "")
            if job.order.expect is not None:
                self.expectation.labels(*labels)

    def collect(self, registry=None) -> list:
        with self._lock:
            return list((registry or self.registry).collect())

    def restricted_registry(self, names):  # what prometheus_client's ?name[]= asks for
        restricted = self.registry.restricted_registry(names)
        return _Collected(lambda: self.collect(restricted))

    def observe(self, summary, timeline: Timeline, now: datetime, elapsed: float) -> None:
        with self._lock:
            self._observe(summary, timeline, now, elapsed)

    def _observe(self, summary, timeline: Timeline, now: datetime, elapsed: float) -> None:
        stamp = now.timestamp()
        for o in summary.outcomes:
            if o is None or o.status in (runner.SKIPPED, runner.NOT_RUN):
                continue
            labels = (o.job.order.merchant, o.job.name)
            span = timeline.spans.get(o.job.position)
            seconds = (span.end - span.start) if span and span.end is not None else o.seconds
            self.duration.labels(*labels).observe(seconds)
            for stage, _at, lasted in span.stages() if span else []:
                self.stage.labels(*labels, stage).observe(lasted)
            self.outcomes.labels(*labels, o.group, o.code or "").inc()
            self.success.labels(*labels).set(1 if o.passed else 0)
            if o.passed:
                self.last_success.labels(*labels).set(stamp)
            if o.verdict is not None:
                self.expectation.labels(*labels).set(1 if o.verdict.met else 0)
        self.rounds.inc()
        self.round_duration.set(elapsed)
        self.last_round.set(stamp)

    def text(self) -> bytes:
        """The Prometheus text format (what node_exporter's textfile collector reads)."""
        from prometheus_client import generate_latest

        return generate_latest(self)


@dataclass
class _Collected:
    collect: Callable[[], list]


@dataclass
class Round:
    number: int
    summary: runner.Summary
    elapsed: float


class Monitor:
    """Runs rounds until ``stop`` is set (or once). ``run_round`` is runner.run with the
    monitor's client, ledger and budget bound; ``on_round`` hears each round's result."""

    def __init__(
        self,
        jobs: list,
        run_round: Callable[..., runner.Summary],
        *,
        every: float,
        stop: threading.Event,
        now: Callable[[], datetime],
        metrics: Metrics | None = None,
        on_round: Callable[[Round], None] = lambda r: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.jobs, self.run_round, self.every, self.stop = jobs, run_round, every, stop
        self.now, self.clock, self.on_round = now, clock, on_round
        self.metrics = metrics or Metrics()
        self.metrics.declare(jobs)
        self.rounds = 0

    def one(self) -> Round:
        timeline = Timeline(self.clock)
        started = self.clock()
        summary = self.run_round(self.jobs, [timeline])
        elapsed = self.clock() - started
        self.rounds += 1
        if not summary.interrupted:  # a round cut short by SIGTERM is not a probe result
            self.metrics.observe(summary, timeline, self.now(), elapsed)
        done = Round(self.rounds, summary, elapsed)
        self.on_round(done)
        return done

    def loop(self, *, once: bool = False, budget=None) -> Round | None:
        """Rounds, one after another, never two at once; returns the last one when ``stop`` is
        set, after ``once``, or when the budget is spent."""
        last = None
        while not self.stop.is_set():
            started = self.clock()
            last = self.one()
            if once or self.stop.is_set():
                break
            if budget is not None and not budget.allows():
                break
            wait = self.every - (self.clock() - started)
            if wait > 0:
                self.stop.wait(wait)  # SIGTERM wakes it at once
        return last
