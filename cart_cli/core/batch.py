"""Many orders: collect and validate them all, plan jobs (repeat, shard), run them concurrently
with a ledger that makes a crash tell "in flight" from "never sent", and resume safely."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from cart_cli.core.checkout import KeyProvider, OrderResult, attempt
from cart_cli.core.errors import SEVERITY, CartError, Exit, OrderInvalid, UsageError
from cart_cli.core.events import Step
from cart_cli.core.order import Order, load_orders

log = logging.getLogger("cart_cli.batch")
PLACED, FAILED, SKIPPED, UNRESOLVED = "placed", "failed", "skipped", "unresolved"


# ---- inputs ---


@dataclass
class Source:
    file: str
    orders: list[tuple[int, Order]]


def expand(paths: Iterable[str]) -> list[Path]:
    """Files from files and directories, each once (`batch orders/ orders/a.yaml` must not place
    a.yaml's orders twice; --repeat is the way to ask for that)."""
    files: list[Path] = []
    seen: set[Path] = set()
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found = sorted(
                x for x in path.iterdir() if x.suffix in (".yaml", ".yml") and x.is_file()
            )
            if not found:
                raise UsageError(f"{p}: no *.yaml or *.yml files in this directory")
        else:
            found = [path]
        for f in found:
            if f.resolve() not in seen:
                seen.add(f.resolve())
                files.append(f)
    return files


def collect(paths: Iterable[str]) -> list[Source]:
    """Every order of every input, validated. All problems of all files, or none."""
    sources, problems = [], []
    for path in expand(paths):
        try:
            sources.append(Source(str(path), load_orders(path)))
        except OrderInvalid as e:
            problems.extend(e.problems)
    if problems:
        raise OrderInvalid(problems)
    return sources


# ---- jobs ---


def content_hash(order: Order) -> str:
    canonical = json.dumps(order.fingerprint(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass
class Job:
    file: str
    index: int
    repeat: int
    order: Order
    hash: str
    occurrence: int  # how many identical orders came before this one in the same file

    @property
    def id(self) -> str:
        return f"{self.file}|{self.hash}|{self.occurrence}|{self.repeat}"

    @property
    def name(self) -> str:
        return f"{self.file}#{self.index}" + (f"@{self.repeat}" if self.repeat else "")

    def source(self) -> dict:
        return {"file": self.file, "index": self.index, "repeat": self.repeat, "hash": self.hash}


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    i, sep, n = text.partition("/")
    if not (sep and i.isdigit() and n.isdigit() and 1 <= int(i) <= int(n)):
        raise UsageError(f"--shard {text!r} must be I/N with 1 <= I <= N, e.g. 2/3")
    return int(i), int(n)


def plan(sources: list[Source], repeat: int = 1, shard: tuple[int, int] | None = None) -> list[Job]:
    """Jobs in a stable order; a shard I/N keeps every N-th job starting at the I-th."""
    jobs = []
    for src in sources:
        seen: dict[str, int] = {}
        for index, order in src.orders:
            h = content_hash(order)
            occurrence = seen.get(h, 0)
            seen[h] = occurrence + 1
            for r in range(repeat):
                jobs.append(Job(src.file, index, r, order, h, occurrence))
    if shard:
        i, n = shard
        jobs = [j for k, j in enumerate(jobs) if k % n == i - 1]
    return jobs


# ---- ledger ---


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Ledger:
    """Append-only JSONL, fsynced per line: 'submitting' before an order leaves, then its result.

    Holds no card data: only source, content hash, merchant, order number and error code."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.run_id = hashlib.sha256(f"{os.getpid()}{time.time()}".encode()).hexdigest()[:12]
        try:  # find out now, not in the middle of a batch, that it cannot be written
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        except OSError as e:
            raise UsageError(f"cannot write the ledger {self.path}: {e.strerror or e}") from None

    def read(self) -> dict[str, dict]:
        """The last known state of each job id: {'state': placed|not_placed|unknown, ...}."""
        state: dict[str, dict] = {}
        try:
            lines = self.path.read_text("utf-8").splitlines()
        except FileNotFoundError:
            return state
        except (OSError, UnicodeDecodeError) as e:
            raise UsageError(f"cannot read ledger {self.path}: {e}") from None
        for line in lines:
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a torn last line after a crash
            if not isinstance(rec, dict) or "id" not in rec:
                continue
            if rec.get("event") == "submitting":
                state[rec["id"]] = {**rec, "state": "unknown"}
            elif rec.get("event") == "result":
                state[rec["id"]] = {**rec, "state": rec.get("outcome", "unknown")}
        return state

    def _append(self, record: dict) -> None:
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)

    def submitting(self, job: Job) -> None:
        self._append(
            {
                "event": "submitting",
                "id": job.id,
                "run": self.run_id,
                "at": _now(),
                "source": job.source(),
                "merchant": job.order.merchant,
            }
        )

    def result(self, job: Job, result: OrderResult) -> None:
        outcome = "placed" if result.ok else (result.error.outcome if result.error else None)
        self._append(
            {
                "event": "result",
                "id": job.id,
                "run": self.run_id,
                "at": _now(),
                "outcome": outcome or "not_placed",
                "order_number": (result.order or {}).get("platform_order_number"),
                "code": result.error.code if result.error else None,
                "exit_code": int(result.exit_code),
            }
        )


# ---- running ---


@dataclass
class JobOutcome:
    job: Job
    status: str  # placed | failed | skipped (already placed) | unresolved (unknown earlier)
    result: OrderResult | None = None
    note: str = ""
    seconds: float = 0.0

    def to_json(self) -> dict:
        doc = (
            self.result.to_json()
            if self.result
            else {
                "schema": "cart-cli.order-result/1",
                "ok": self.status == SKIPPED,
                "merchant": self.job.order.merchant,
            }
        )
        return {
            **doc,
            "status": self.status,
            "note": self.note or None,
            "source": self.job.source(),
        }


@dataclass
class Summary:
    outcomes: list[JobOutcome] = field(default_factory=list)
    not_run: list[Job] = field(default_factory=list)
    interrupted: bool = False
    elapsed: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def exit_code(self) -> Exit:
        if self.interrupted:
            return Exit.INTERRUPTED
        codes = {o.result.exit_code for o in self.outcomes if o.status == FAILED and o.result}
        if any(o.status == UNRESOLVED for o in self.outcomes):
            codes.add(Exit.UNKNOWN)
        if not codes:
            return Exit.OK
        return min(codes, key=lambda c: SEVERITY.index(c) if c in SEVERITY else len(SEVERITY))

    def to_json(self) -> dict:
        return {
            "schema": "cart-cli.batch-result/1",
            "ok": self.exit_code == Exit.OK,
            "exit_code": int(self.exit_code),
            "total": len(self.outcomes) + len(self.not_run),
            **{s: self.count(s) for s in (PLACED, FAILED, SKIPPED, UNRESOLVED)},
            "not_run": len(self.not_run),
            "interrupted": self.interrupted,
            "elapsed_ms": int(self.elapsed * 1000),
            "orders": [o.to_json() for o in self.outcomes],
        }


class Listener:
    """What a batch tells the outside: renderers and reports implement what they need."""

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


def run(
    client,
    jobs: list[Job],
    *,
    concurrency: int = 4,
    ledger: Ledger | None = None,
    resume: bool = False,
    fail_fast: bool = False,
    rate: float | None = None,
    stop: threading.Event | None = None,
    listeners: list[Listener] = (),
    sse: bool = True,
    flow=None,  # a checkout.FlowChoice: --flow and CART_CLI_FLOW
) -> Summary:
    """Run the jobs; returns when all launched ones have finished (or were never launched)."""
    stop = stop or threading.Event()
    summary = Summary()
    started = time.monotonic()
    keys = KeyProvider(client)
    known = ledger.read() if (ledger and resume) else {}
    slots = threading.Semaphore(concurrency)
    lock = threading.Lock()
    failed = threading.Event()
    limiter = _Rate(rate)

    def finish(outcome: JobOutcome) -> None:
        with lock:
            summary.outcomes.append(outcome)
            for li in listeners:
                li.finished(outcome)

    def work(job: Job) -> None:
        t0 = time.monotonic()
        try:
            for li in listeners:
                li.started(job)

            sent = False

            def on_event(ev) -> None:
                nonlocal sent
                if isinstance(ev, Step) and ev.submits and ledger and not sent:
                    ledger.submitting(job)  # written (and fsynced) before the order can leave
                    sent = True
                for li in listeners:
                    li.event(job, ev)

            try:
                result = attempt(
                    job.order, client, keys=keys, sse=sse, flow=flow, on_event=on_event
                )
            except Exception as e:  # a bug: still record it, and never as "not placed" if sent
                log.debug("internal error in %s", job.name, exc_info=True)  # --debug shows it
                err = CartError(
                    f"internal error: {type(e).__name__}",
                    outcome="unknown" if sent else "not_placed",
                )
                result = OrderResult(job.order.merchant, False, error=err)
            if sent:
                ledger.result(job, result)
            if not result.ok:
                failed.set()
            finish(
                JobOutcome(
                    job, PLACED if result.ok else FAILED, result, seconds=time.monotonic() - t0
                )
            )
        finally:
            slots.release()

    def launchable() -> bool:
        return not (stop.is_set() or (fail_fast and failed.is_set()))

    def take_slot() -> bool:
        while not slots.acquire(timeout=0.1):
            if not launchable():
                return False
        return True

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="order") as pool:
        for job in jobs:
            prior = known.get(job.id, {})
            if prior.get("state") == "placed":
                note = f"already placed as {prior.get('order_number') or '?'}"
                finish(JobOutcome(job, SKIPPED, note=note))
            elif prior.get("state") == "unknown":
                note = (
                    "outcome unknown in an earlier run: check the merchant before placing it again"
                )
                finish(JobOutcome(job, UNRESOLVED, note=note))
            elif launchable() and take_slot():
                limiter.wait(stop)
                if launchable():
                    pool.submit(work, job)
                else:
                    slots.release()
                    summary.not_run.append(job)
            else:
                summary.not_run.append(job)
    summary.interrupted = stop.is_set()
    summary.elapsed = time.monotonic() - started
    return summary
