"""Running a batch's jobs concurrently, each recorded in the ledger before it can leave.

One job function that never raises: whatever happens to an order (a server error, a bug, a
listener or ledger failure, an interrupt) ends as an outcome in the summary, in input order.
Listeners are called outside the runner's lock, and a failing listener costs the batch its
exit code, not an order.

Stopping: ``stop`` (first Ctrl-C) launches nothing more and lets orders in flight finish;
``abandon`` (second Ctrl-C) returns at once. An abandoned order that had been sent is an
unknown outcome; one that had not is never sent."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cart_cli.core.checkout import KeyProvider, OrderResult
from cart_cli.core.errors import (
    NOT_PLACED,
    SEVERITY,
    UNKNOWN,
    CartError,
    Exit,
    Interrupted,
)
from cart_cli.core.expect import Verdict, judge
from cart_cli.core.ledger import PLACED as LEDGER_PLACED
from cart_cli.core.ledger import Contents, Ledger, LedgerWriteError
from cart_cli.core.plan import Job
from cart_cli.core.submit import Flight, outcome_of, sending_order, submit_one
from cart_cli.core.transport import unreachable
from cart_cli.wire.names import JobStatus, Schema

log = logging.getLogger("cart_cli.batch")

# Orders in a row that could not reach the target at all after which a batch takes it for dead
# and launches no more (the rest are not_run: --resume runs them).
DEAD_AFTER = 3

# What happened to a job in this run (wire.names.JobStatus).
PLACED, FAILED, SKIPPED, UNRESOLVED, NOT_RUN, INTERRUPTED = STATUSES = tuple(JobStatus)

# The three groups a person acts on.
GROUP_PLACED, GROUP_NOT_PLACED, GROUP_UNKNOWN = LEDGER_PLACED, NOT_PLACED, UNKNOWN
GROUPS = (GROUP_PLACED, GROUP_NOT_PLACED, GROUP_UNKNOWN)


@dataclass(slots=True)  # one per order, kept to the end of the batch
class JobOutcome:
    job: Job
    status: str
    result: OrderResult | None = None
    note: str = ""
    seconds: float = 0.0
    request_id: str | None = None
    cart_id: str | None = None
    order_number: str | None = None  # placed now, or in an earlier run
    # Where reports.Spool keeps this outcome's full JSON (offset, length), once it is there.
    spooled: tuple[int, int] | None = field(default=None, repr=False, compare=False)
    verdict: Verdict | None = None  # the order file's expect:, judged

    @classmethod
    def of(cls, job: Job, result: OrderResult, seconds: float = 0.0, note: str = "") -> JobOutcome:
        """A job's outcome from its one OrderResult: its ids are the result's."""
        return cls(
            job,
            PLACED if result.ok else FAILED,
            result,
            note=note,
            seconds=seconds,
            request_id=result.request_id,
            cart_id=result.cart_id,
            order_number=result.order_number,
        )

    @property
    def passed(self) -> bool:
        """Placed (or placed earlier), or failed as the order file expected."""
        if self.verdict is not None:
            return self.verdict.met
        return self.status in (PLACED, SKIPPED)

    @property
    def group(self) -> str:
        """placed, not_placed or unknown (may have been placed: check before retrying)."""
        if self.status in (PLACED, SKIPPED):
            return GROUP_PLACED
        if self.status == UNRESOLVED:
            return GROUP_UNKNOWN
        if self.result and self.result.outcome == UNKNOWN:
            return GROUP_UNKNOWN
        return GROUP_NOT_PLACED

    @property
    def code(self) -> str | None:
        return self.result.error.code if self.result and self.result.error else None

    def to_json(self) -> dict:
        doc = (
            self.result.to_json()
            if self.result
            else {
                "schema": Schema.ORDER_RESULT,
                "ok": self.status == SKIPPED,
                "merchant": self.job.order.merchant,
            }
        )
        doc = {
            **doc,
            "job": self.job.id,
            "name": self.job.name,
            "status": self.status,
            "outcome": self.group,
            "note": self.note or None,
            "request_id": self.request_id,
            "cart_id": self.cart_id,
            "order_number": self.order_number,
            "source": self.job.source(),
        }
        if self.verdict is not None:
            doc["expectation"] = self.verdict.to_json()
        return doc


@dataclass
class Summary:
    outcomes: list[JobOutcome] = field(default_factory=list)  # one per job, in input order
    interrupted: bool = False
    abandoned: bool = False
    problems: list[str] = field(default_factory=list)  # listener or ledger failures
    elapsed: float = 0.0
    budget_stop: str = ""  # why launching stopped early (--max-orders / --max-spend)
    target: dict | None = None  # where the orders went (for --json and JUnit)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def group(self, name: str) -> list[JobOutcome]:
        return [o for o in self.outcomes if o.group == name]

    @property
    def exit_code(self) -> Exit:
        if self.interrupted:
            return Exit.INTERRUPTED
        codes = {
            o.result.exit_code
            for o in self.outcomes
            if o.status == FAILED and o.result and o.verdict is None
        }
        codes |= {o.verdict.exit_code for o in self.outcomes if o.verdict and not o.verdict.met}
        if any(o.status == UNRESOLVED for o in self.outcomes):
            codes.add(Exit.UNKNOWN)
        if self.problems:
            codes.add(Exit.INTERNAL)
        if not codes:
            return Exit.OK
        return min(codes, key=lambda c: SEVERITY.index(c) if c in SEVERITY else len(SEVERITY))

    def to_json(self, orders: bool = True) -> dict:
        """The batch-result document; ``orders=False`` leaves out the per-order list (a
        streaming writer appends it: reports.write_summary_json)."""
        groups = {g: self.group(g) for g in GROUPS}
        return {
            "schema": Schema.BATCH_RESULT,
            "ok": self.exit_code == Exit.OK,
            "exit_code": int(self.exit_code),
            "total": len(self.outcomes),
            **{s: self.count(s) for s in STATUSES},
            "groups": {g: len(v) for g, v in groups.items()},
            "unknown": [
                {
                    "job": o.job.id,
                    "name": o.job.name,
                    "merchant": o.job.order.merchant,
                    "request_id": o.request_id,
                    "cart_id": o.cart_id,
                }
                for o in groups[GROUP_UNKNOWN]
            ],
            "expectations_met": sum(1 for o in self.outcomes if o.verdict and o.verdict.met),
            "expectations_unmet": sum(1 for o in self.outcomes if o.verdict and not o.verdict.met),
            "interrupted": self.interrupted,
            "abandoned": self.abandoned,
            "budget_stop": self.budget_stop or None,
            "target": self.target,
            "problems": self.problems,
            "elapsed_ms": int(self.elapsed * 1000),
            **({"orders": [o.to_json() for o in self.outcomes]} if orders else {}),
        }


class Listener:
    """What a batch tells the outside: displays implement what they need. Called from worker
    threads, concurrently: a listener guards its own state."""

    def started(self, job: Job) -> None: ...
    def event(self, job: Job, ev) -> None: ...
    def finished(self, outcome: JobOutcome) -> None: ...


class _Rate:
    def __init__(self, per_second: float | None) -> None:
        self.gap = 1.0 / per_second if per_second else 0.0
        self.next = 0.0

    def wait(self, stop: threading.Event) -> None:
        if self.gap:
            now = time.monotonic()
            if self.next > now:
                stop.wait(self.next - now)
            self.next = max(now, self.next) + self.gap


@dataclass
class _Flight(Flight):
    """A job's order in flight: whether it left, and what it is known by so far (Flight), and
    where the batch's bookkeeping of it stands."""

    job: Job | None = None
    started: float = 0.0
    recorded: bool = False  # its result line is in the ledger
    in_history: bool = False  # its outcome is in the order history
    abandoned: bool = False
    outcome: JobOutcome | None = None  # known, but maybe not yet in the summary


def prior_outcome(
    job: Job,
    prior: dict | None,
    only_not_placed: bool,
    same_entry: dict | None = None,
    ledger_path: str | Path | None = None,
) -> JobOutcome | None:
    """What an earlier run's ledger line means for this job: None means "run it".
    ``same_entry``: the last line for the same file, index and repeat under another job id,
    i.e. of the entry before it was edited."""
    state = prior.get("state") if prior else None
    if state == LEDGER_PLACED:
        number = prior.get("order_number")
        return JobOutcome(
            job,
            SKIPPED,
            note=f"already placed as {number or '?'}",
            order_number=number,
            request_id=prior.get("request_id"),
            cart_id=prior.get("cart_id"),
        )
    if state == UNKNOWN:
        return JobOutcome(
            job,
            UNRESOLVED,
            note="outcome unknown in an earlier run: check with the merchant, then "
            f"`cart-cli ledger resolve {job.id}{_ledger_flag(ledger_path)} "
            "--placed ORDER_NUMBER | --not-placed`",
            request_id=prior.get("request_id"),
            cart_id=prior.get("cart_id"),
        )
    if only_not_placed and state is None and same_entry is not None:
        was = str(same_entry.get("state")).replace("_", " ")
        return JobOutcome(
            job,
            NOT_RUN,
            note=f"not retried: the entry was edited since the ledger recorded it ({was}), so "
            "it is a new order; run the batch without --retry-not-placed to send it",
        )
    if only_not_placed and state != NOT_PLACED:
        return JobOutcome(job, NOT_RUN, note="not retried: no earlier failure in the ledger")
    return None


def _ledger_flag(path: str | Path | None) -> str:
    """`` --ledger PATH`` (quoted for a shell when it must be): a hint pasted elsewhere, from a
    CI report say, must name the ledger it was about, never fall back to the default one."""
    import shlex

    return f" --ledger {shlex.quote(str(path))}" if path is not None else ""


class _Run:
    def __init__(
        self,
        client,
        jobs: list[Job],
        *,
        concurrency: int,
        ledger: Ledger | None,
        fail_fast: bool,
        stop: threading.Event,
        abandon: threading.Event,
        listeners: Iterable[Listener],
        sse: bool,
        flow,
        budget=None,
        history=None,
    ) -> None:
        self.client, self.ledger, self.sse, self.flow = client, ledger, sse, flow
        self.history = history  # (OrderResult, source) -> None: the order history's record
        self.budget = budget  # a guard.Budget: --max-orders / --max-spend
        self.keys = KeyProvider(client)
        self.listeners = list(listeners)
        self.stop, self.abandon = stop, abandon
        self.fail_fast = fail_fast
        self.failed = threading.Event()  # for --fail-fast
        self.broken = threading.Event()  # the ledger cannot be written: launch nothing more
        self.unreachable = 0  # orders in a row (by the time they ended) that reached nothing
        self.dead = ""  # why the target is taken for dead: launch nothing more
        self.summary = Summary(outcomes=[None] * len(jobs))  # type: ignore[list-item]
        self.lock = threading.Condition()
        self.flights: dict[int, _Flight] = {}
        self.closed = False
        self.listener_failures: set[str] = set()

    # ---- bookkeeping (under the lock: nothing slow) ----
    def problem(self, text: str) -> None:
        with self.lock:
            self.summary.problems.append(text)

    def _tell(self, method: str, *args) -> None:
        """Call every listener's ``method``, outside the runner's lock; a failure is a problem
        (once per listener and method), never a lost order."""
        for li in self.listeners:
            try:
                getattr(li, method)(*args)
            except Exception as e:
                key = f"{type(li).__name__}.{method}"
                log.debug("listener %s failed", key, exc_info=True)
                with self.lock:
                    if key in self.listener_failures:
                        continue
                    self.listener_failures.add(key)
                    self.summary.problems.append(f"{key} failed: {type(e).__name__}: {e}")

    def record(self, outcome: JobOutcome, flight: _Flight | None = None) -> None:
        with self.lock:
            if self.closed:
                return  # abandoned: the summary was already made without it
            self.summary.outcomes[outcome.job.position] = outcome
            if self.budget is not None and outcome.status == PLACED and outcome.result:
                self.budget.spend(outcome.result.order)
        self._tell("finished", outcome)
        if flight is not None:
            with self.lock:
                self.flights.pop(outcome.job.position, None)
                self.lock.notify_all()

    # ---- one job: never raises ----
    def work(self, flight: _Flight) -> None:
        job = flight.job
        try:
            self._tell("started", job)
            result = self._submit(flight)
            outcome = JobOutcome.of(job, result, seconds=time.monotonic() - flight.started)
            if result.fallback or getattr(result.error, "fallback", None):  # --flow auto
                outcome.note = "through the cart flow: the server has no place-order route"
            if job.order.expect is not None:
                outcome.verdict = judge(job.order.expect, result)
            if not outcome.passed:
                self.failed.set()
            self._watch_target(result)
        except BaseException as e:  # a bug in our own bookkeeping: still an outcome
            log.debug("internal error in %s", job.name, exc_info=True)
            err = CartError(
                f"internal error: {type(e).__name__}", outcome=UNKNOWN if flight.sent else None
            )
            outcome = JobOutcome(
                job, FAILED, OrderResult(job.order.merchant, False, error=err), cart_id=None
            )
        with flight.lock:
            flight.outcome = outcome
        self.record(outcome, flight)

    def _watch_target(self, result: OrderResult) -> None:
        """The dead-target rule: after DEAD_AFTER orders in a row that could not reach the
        target at all (refused, DNS, TLS, connect timeout: nothing was sent), launch nothing
        more. Any answer from the server starts the count again."""
        with self.lock:
            if result.error is not None and unreachable(result.error):
                self.unreachable += 1
                if self.unreachable >= DEAD_AFTER and not self.dead:
                    self.dead = (
                        f"the target looks dead: {self.unreachable} orders in a row could not "
                        f"reach it ({result.error.message}); run again with --resume once it "
                        "is back"
                    )
            else:
                self.unreachable = 0

    def _submit(self, flight: _Flight) -> OrderResult:
        """The job's order through the one submit path: its ledger's submitting line before the
        order can leave, its result line, then its history record."""
        job = flight.job

        def before_send() -> None:  # under flight.lock
            if flight.abandoned:  # never send an order the summary calls not placed
                raise Interrupted("interrupted before the order was sent")
            if self.ledger:
                self.ledger.submitting(job)  # fsynced before the order can leave

        return submit_one(
            sending_order(job.order, self.client, keys=self.keys, sse=self.sse, flow=self.flow),
            job.order.merchant,
            flight=flight,
            before_send=before_send,
            on_event=lambda ev: self._tell("event", job, ev),
            record=lambda result: self._record_result(flight, result),
            history=lambda result: self._history(flight, result),
            contain_bugs=True,  # still recorded, and never as "not placed" if sent
        )

    def _history(self, flight: _Flight, result: OrderResult) -> None:
        """The order history's record of the job (once: an abandoning may have written it)."""
        if self.history is None:
            return
        with flight.lock:
            if flight.in_history:
                return
            flight.in_history = True
        try:
            self.history(result, flight.job.name)
        except Exception as e:
            log.debug("the history failed for %s", flight.job.name, exc_info=True)
            with self.lock:
                if "history" not in self.listener_failures:
                    self.listener_failures.add("history")
                    self.summary.problems.append(
                        f"the order history failed: {type(e).__name__}: {e}"
                    )

    def _record_result(self, flight: _Flight, result: OrderResult) -> None:
        job = flight.job
        if isinstance(result.error, LedgerWriteError):
            self.broken.set()
            self.problem(result.error.message)
            return
        if not self.ledger:
            return  # a failure before sending is recorded too: --retry-not-placed retries it
        try:
            with flight.lock:
                self.ledger.result(job, **result.ledger_fields())
                flight.recorded = True
        except OSError as e:
            self.broken.set()
            self.problem(
                f"the ledger could not record {job.name} ({'placed' if result.ok else 'failed'}):"
                f" {e.strerror or e}; a resume would not know this outcome"
            )

    # ---- abandoning ----
    def abandon_flights(self) -> None:
        """The summary's word on every order still in flight: sent ones are unknown."""
        with self.lock:
            self.closed = True
            flights = list(self.flights.values())
        for flight in flights:
            job = flight.job
            with flight.lock:
                flight.abandoned = True
                if flight.outcome is not None:  # finished just now: its own word stands
                    self.summary.outcomes[job.position] = flight.outcome
                    continue
                sent = flight.sent
                err = Interrupted(
                    "abandoned in flight: the order was sent"
                    if sent
                    else "abandoned before the order was sent",
                    outcome=UNKNOWN if sent else NOT_PLACED,
                )
                result = outcome_of(job.order.merchant, flight, error=err)
                if not sent:
                    result.request_id = None
                if sent and self.ledger and not flight.recorded:
                    # On failure, its submitting line still says "unknown".
                    with contextlib.suppress(OSError):
                        self.ledger.result(
                            job,
                            **{
                                **result.ledger_fields(),
                                "message": "abandoned in flight by a second interrupt",
                            },
                        )
                remember = sent and not flight.in_history and self.history is not None
                flight.in_history = flight.in_history or remember
            if remember:  # the history says it may have been placed, as place's does
                with contextlib.suppress(Exception):
                    self.history(result, job.name)
            self.summary.outcomes[job.position] = JobOutcome.of(
                job, result, seconds=time.monotonic() - flight.started, note=err.message
            )
            self.summary.outcomes[job.position].status = INTERRUPTED

    # ---- launching ----
    def launchable(self) -> bool:
        if self.budget is not None:
            with self.lock:
                if not self.budget.allows():
                    return False
        return not (
            self.stop.is_set()
            or self.broken.is_set()
            or self.dead
            or (self.fail_fast and self.failed.is_set())
        )


def run(
    client,
    jobs: list[Job],
    *,
    concurrency: int = 4,
    ledger: Ledger | None = None,
    resume: bool = False,
    prior: Contents | None = None,
    only_not_placed: bool = False,
    fail_fast: bool = False,
    rate: float | None = None,
    stop: threading.Event | None = None,
    abandon: threading.Event | None = None,
    listeners: Iterable[Listener] = (),
    sse: bool = True,
    flow=None,  # a checkout.FlowChoice: --flow and CART_CLI_FLOW
    budget=None,  # a guard.Budget: launch nothing more once it is spent
    history=None,  # (OrderResult, source) -> None: each order's record in the order history
) -> Summary:
    """Run the jobs. Returns when every launched one has finished, or at once when ``abandon``
    is set; the summary has an outcome for every job, in the jobs' order.

    ``prior``: an earlier ledger's contents (read from ``ledger`` when ``resume`` and not given):
    placed orders are skipped, unknown ones are not sent again. ``only_not_placed``: run only the
    jobs the ledger records as surely not placed."""
    for position, job in enumerate(jobs):
        job.position = position
    stop = stop or threading.Event()
    abandon = abandon or threading.Event()
    if prior is None and ledger is not None and (resume or only_not_placed):
        prior = ledger.read()
    known = prior.jobs if prior else {}
    entries = {  # the same entry under an earlier content hash (edited since)
        (r["source"].get("path"), r["source"].get("index"), r["source"].get("repeat")): r
        for r in known.values()
    }
    r = _Run(
        client,
        jobs,
        concurrency=concurrency,
        ledger=ledger,
        fail_fast=fail_fast,
        stop=stop,
        abandon=abandon,
        listeners=listeners,
        sse=sse,
        flow=flow,
        budget=budget,
        history=history,
    )
    started = time.monotonic()
    limiter = _Rate(rate)
    slots = threading.Semaphore(concurrency)
    tasks: queue.SimpleQueue = queue.SimpleQueue()
    workers: list[threading.Thread] = []

    def worker() -> None:
        while (flight := tasks.get()) is not None:
            try:
                r.work(flight)
            finally:
                slots.release()

    def take_slot() -> bool:
        while not slots.acquire(timeout=0.1):
            if not r.launchable():
                return False
        return True

    for job in jobs:
        earlier = (
            prior_outcome(
                job,
                known.get(job.id),
                only_not_placed,
                entries.get((job.path, job.index, job.repeat)),
                ledger.path if ledger is not None else None,
            )
            if prior
            else None
        )
        if earlier is not None:
            r.record(earlier)
            continue
        if not (r.launchable() and take_slot()):
            continue
        limiter.wait(stop)
        if not r.launchable():
            slots.release()
            continue
        flight = _Flight(job=job, started=time.monotonic())
        with r.lock:
            r.flights[job.position] = flight
            if budget is not None:
                budget.launch()
        if len(workers) < concurrency:
            # Daemon threads: an abandoned order must not keep the process alive.
            t = threading.Thread(target=worker, name=f"order-{len(workers)}", daemon=True)
            workers.append(t)
            t.start()
        tasks.put(flight)
    for _ in workers:
        tasks.put(None)
    with r.lock:
        while r.flights and not abandon.is_set():
            if not any(t.is_alive() for t in workers):  # cannot happen: work() never raises
                r.summary.problems.append("internal error: orders were left without a worker")
                break
            r.lock.wait(0.1)
    if abandon.is_set() or r.flights:
        r.abandon_flights()
    with r.lock:
        r.closed = True
        summary = r.summary
        why = (
            "interrupted"
            if stop.is_set()
            else "the ledger could not be written"
            if r.broken.is_set()
            else r.dead
            if r.dead
            else budget.reason
            if budget is not None and budget.reason
            else "--fail-fast, after a failure"
        )
        for position, outcome in enumerate(summary.outcomes):
            if outcome is None:
                summary.outcomes[position] = JobOutcome(jobs[position], NOT_RUN, note=why)
        summary.interrupted = stop.is_set()
        summary.abandoned = abandon.is_set()
        summary.budget_stop = budget.reason if budget is not None else ""
        summary.elapsed = time.monotonic() - started
    return summary
