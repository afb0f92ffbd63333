"""The batch ledger: append-only JSON Lines, each line fsynced, so that a crash tells "in flight"
from "never sent" and a later run knows what not to send again. (Group commit: one fsync makes
every line written before it began durable, so threads appending at once share one; each append
returns only once its own line is on disk.)

A job gets a ``submitting`` line before its order can leave, and a ``result`` line once the outcome
is known; a person can add a ``resolved`` line (``cart-cli ledger resolve``) once they have found
out what became of an unknown outcome. The last line of a job says its state: placed, not_placed
or unknown. Every line names the target (api URL, payment URL, app id), so a resume against
another server does not take that server's word for orders it never saw.

Its first line says it is a cart-cli ledger (``{"cart-cli":"ledger","v":2,...}``; ledgers of
older cart-clis have none, and are recognised by their first record): cart-cli appends only to a
file that is new, empty or already a ledger, so ``--ledger ~/.bashrc`` (or a ledger that is a link
to such a file) is refused before anything is sent.

Holds no card data: source, content hash, merchant, target, request id, cart id, order number and
error code."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from cart_cli.core.errors import NOT_PLACED, UNKNOWN, CartError, UsageError
from cart_cli.core.files import fsync_dir, open_append, parse_json_line, read_regular
from cart_cli.wire.names import Outcome

VERSION = 2
SUBMITTING, RESULT, RESOLVED = "submitting", "result", "resolved"
PLACED = Outcome.PLACED
STATES = (PLACED, NOT_PLACED, UNKNOWN)
TARGET_KEYS = ("api", "payment", "app")  # what makes two targets the same
MAGIC = "cart-cli"  # the header line: {"cart-cli": "ledger", "v": 2, "created": ...}
HEADER_PROBE = 64 * 1024  # how much of the first line is read to recognise a ledger


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


def stamp(when: datetime) -> str:
    """A ledger line's time: UTC, to the millisecond (``2031-09-01T12:00:00.000Z``)."""
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make_target(api_url: str, payment_url: str, app_id: str, profile: str | None = None) -> dict:
    target = {"api": api_url.rstrip("/"), "payment": payment_url.rstrip("/"), "app": app_id}
    if profile:
        target["profile"] = profile
    return target


def same_target(a: dict | None, b: dict | None) -> bool:
    return bool(a and b) and all(a.get(k) == b.get(k) for k in TARGET_KEYS)


def describe_target(t: dict | None) -> str:
    if not t:
        return "an unknown target"
    text = f"{t.get('api')} (payment {t.get('payment')}, app id {t.get('app')!r})"
    return f"profile {t['profile']}: {text}" if t.get("profile") else text


class LedgerWriteError(CartError):
    """The ledger could not be written: an order is not sent without its line."""

    code = "LedgerWriteError"


@dataclass
class Contents:
    """What a ledger file says: the last line of each job, and what could not be read."""

    jobs: dict[str, dict] = field(default_factory=dict)  # job id -> last record, with "state"
    old_lines: int = 0  # lines of an older cart-cli's ledger: not matched
    bad_lines: int = 0  # torn or foreign lines
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line number, what is wrong)
    foreign: bool = False  # the file is not a cart-cli ledger (its first line is not one)

    def by_state(self) -> dict[str, list[dict]]:
        """Jobs by state, each list in input order (file, entry, repeat)."""
        out: dict[str, list[dict]] = {s: [] for s in STATES}
        for rec in sorted(self.jobs.values(), key=_input_order):
            out.setdefault(rec["state"], []).append(rec)
        return out


def _input_order(rec: dict) -> tuple:
    src = rec["source"]
    return (str(src.get("path")), _int(src.get("index")), _int(src.get("repeat")))


def _int(value) -> int:
    return value if isinstance(value, int) else -1


def state_of(record: dict) -> str | None:
    event = record.get("event")
    if event == SUBMITTING:
        return UNKNOWN
    if event in (RESULT, RESOLVED):
        outcome = record.get("outcome")
        return outcome if outcome in STATES else UNKNOWN
    return None


def is_header(rec) -> bool:
    return isinstance(rec, dict) and rec.get(MAGIC) == "ledger"


def is_ledger_line(rec) -> bool:
    """A line only a cart-cli ledger starts with: its header, or (an older ledger, without one)
    a record of this or an older version."""
    if is_header(rec):
        return True
    if not isinstance(rec, dict):
        return False
    if rec.get("v") == VERSION:
        return state_of(rec) is not None and isinstance(rec.get("job"), str)
    return "id" in rec and "event" in rec


parse_line = parse_json_line


def first_line(data: bytes) -> tuple[int, bytes] | None:
    """The first non-blank line and its number."""
    for number, raw in enumerate(data.split(b"\n"), 1):
        if raw.strip():
            return number, raw
    return None


def read(path: str | Path) -> Contents:
    """The ledger's contents; a missing file is an empty ledger. Never fails on a bad line: it
    is counted, and said (with its line number) in ``problems``."""
    contents = Contents()
    try:
        data = read_regular(path)  # a FIFO or a device is refused, never waited on
    except FileNotFoundError:
        return contents
    except IsADirectoryError:
        raise UsageError(f"the ledger {path} is a folder") from None
    except OSError as e:
        raise UsageError(f"cannot read the ledger {path}: {e.strerror or e}") from None
    first = first_line(data)
    if first is not None:
        contents.foreign = not is_ledger_line(parse_line(first[1])[0])
    for number, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        rec, why = parse_line(raw)
        if why is None and not isinstance(rec, dict):
            why = "not a ledger line"
        if why is not None:
            contents.bad_lines += 1  # a torn last line after a crash, say
            contents.problems.append((number, why))
            continue
        if is_header(rec):
            continue
        if rec.get("v") != VERSION:
            if "id" in rec and "event" in rec:
                contents.old_lines += 1
            else:
                contents.bad_lines += 1
                contents.problems.append((number, "not a ledger line"))
            continue
        state = state_of(rec)
        if state is None or not isinstance(rec.get("job"), str):
            contents.bad_lines += 1
            contents.problems.append((number, "not a ledger line"))
            continue
        if not isinstance(rec.get("source"), dict):
            rec["source"] = {}
        contents.jobs[rec["job"]] = {**rec, "state": state}
    return contents


class Ledger:
    """Appends lines for one target; each durable before ``_append`` returns. ``clock``: the
    run's (cli.env.Environment). The file stays open while lines are written (``close()``, or
    the end of ``held()``, closes it)."""

    def __init__(
        self,
        path: str | Path,
        target: dict | None = None,
        *,
        clock: Callable[[], datetime] = system_clock,
    ) -> None:
        self.path = Path(path)
        self.target = target
        self.via: str | None = None  # "monitor": lines of cart-cli monitor's probes say so
        self.clock = clock
        self._lock = threading.Lock()  # held while a line is written (not while it is synced)
        self._sync_lock = threading.Lock()  # one fsync at a time
        self._fd: int | None = None
        self._written = 0  # lines written by this run so far
        self._synced = 0  # of those, how many are known to be on disk
        started = f"{os.getpid()}{clock().isoformat()}{time.perf_counter_ns()}"
        self.run_id = hashlib.sha256(started.encode()).hexdigest()[:12]
        self._claim()

    @property
    def real(self) -> str:
        """The file itself, links resolved: what is checked is what is written."""
        return os.path.realpath(self.path)

    def _refuse(self, why: str) -> UsageError:
        return UsageError(
            f"--ledger {self.path}: {why}. cart-cli appends only to its own ledgers: give a new "
            "file (or an existing cart-cli ledger) with --ledger FILE",
            code="NotALedger",
        )

    def _claim(self) -> None:
        """Refuse now, before anything is sent, a ledger that cannot be written or is not ours;
        give a new (or empty) one its header line."""
        real = self.real
        try:
            st = os.stat(real)
        except FileNotFoundError:
            st = None
        except OSError as e:
            raise UsageError(f"cannot write the ledger {self.path}: {e.strerror or e}") from None
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise UsageError(f"the ledger {self.path} is a folder: give a file with --ledger FILE")
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise self._refuse("not a regular file (a device, a FIFO or a socket)")
        try:
            fd = open_append(real, read=True)  # and if it has changed under us, not a device
        except OSError as e:
            raise UsageError(f"cannot write the ledger {self.path}: {e.strerror or e}") from None
        try:
            locked = _try_lock(fd)  # another run holding it: held() will say so
            size = os.fstat(fd).st_size
            head = os.pread(fd, min(size, HEADER_PROBE), 0)
            first = first_line(head)
            if first is None:
                if locked:  # new or empty (blank lines at most): ours to start
                    header = {MAGIC: "ledger", "v": VERSION, "created": stamp(self.clock())}
                    prefix = b"" if not size or head.endswith(b"\n") else b"\n"
                    os.write(fd, prefix + json.dumps(header, separators=(",", ":")).encode())
                    os.write(fd, b"\n")
                    os.fsync(fd)
            elif not is_ledger_line(parse_line(first[1])[0]):
                raise self._refuse(f"not a cart-cli ledger (line {first[0]} is not a ledger line)")
            elif locked and os.pread(fd, 1, size - 1) != b"\n":
                # A crash may have torn the last line: start ours on a line of its own.
                os.write(fd, b"\n")
                os.fsync(fd)
        except OSError as e:
            raise UsageError(f"cannot write the ledger {self.path}: {e.strerror or e}") from None
        finally:
            os.close(fd)  # and the lock with it
        if st is None:
            fsync_dir(Path(real).parent)

    def read(self) -> Contents:
        return read(self.path)

    @contextmanager
    def held(self, busy: str | None = None) -> Iterator[Ledger]:
        """This run's exclusive hold on the ledger (an advisory lock, released when the run
        ends, however it ends): two runs on one ledger would both find an order unsent and
        both send it. A second run is refused at once, before anything is sent. ``busy``: what
        to say then (by default, for a batch)."""
        try:
            import fcntl
        except ImportError:  # no advisory locks here (Windows): run unguarded
            yield self
            return
        try:
            fd = open_append(self.real, read=True)
        except OSError as e:
            raise UsageError(f"cannot open the ledger {self.path}: {e.strerror or e}") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UsageError(
                    busy
                    or f"the ledger {self.path} is in use by another batch run: wait for it to "
                    "finish, or give this run its own --ledger FILE",
                    code="LedgerBusy",
                ) from None
            yield self
        finally:
            self.close()
            os.close(fd)  # releases the lock

    def close(self) -> None:
        """Close the file (every line written is on disk first); a later line reopens it."""
        with self._lock, self._sync_lock:
            if self._fd is not None:
                try:
                    if self._synced < self._written:
                        os.fsync(self._fd)
                        self._synced = self._written
                finally:
                    os.close(self._fd)
                    self._fd = None

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)

    def _append(self, record: dict) -> None:
        """Write one line and return once it is on disk: the fsync that makes it so may be
        another thread's, begun after this line was written (one fsync for every line written
        meanwhile, instead of one each under one lock)."""
        line = json.dumps({"v": VERSION, **record}, separators=(",", ":"), default=str) + "\n"
        with self._lock:
            if self._fd is None:
                self._fd = open_append(self.real)
            fd = self._fd
            os.write(fd, line.encode())
            self._written += 1
            mine = self._written
        with self._sync_lock:
            if self._synced >= mine or self._fd != fd:
                return  # an fsync begun after this line was written has ended (or close's)
            upto = self._written  # every line counted here was written before the fsync
            os.fsync(fd)
            self._synced = upto

    def _base(self, event: str, job) -> dict:
        return {
            "event": event,
            "job": job.id,
            "run": self.run_id,
            "at": stamp(self.clock()),
            "name": job.name,
            "merchant": job.order.merchant,
            "source": job.source(),
            "target": self.target,
            **({"via": self.via} if self.via else {}),
        }

    def submitting(self, job) -> None:
        """Written (and fsynced) before the order can leave; raises LedgerWriteError if not."""
        try:
            self._append(self._base(SUBMITTING, job))
        except OSError as e:
            raise LedgerWriteError(
                f"cannot write the ledger {self.path}: {e.strerror or e}; the order was not sent",
                outcome=NOT_PLACED,
            ) from None

    def result(
        self,
        job,
        outcome: str,
        *,
        order_number: str | None = None,
        request_id: str | None = None,
        cart_id: str | None = None,
        code: str | None = None,
        exit_code: int = 0,
        message: str | None = None,
    ) -> None:
        self._append(
            {
                **self._base(RESULT, job),
                "outcome": outcome,
                "order_number": order_number,
                "request_id": request_id,
                "cart_id": cart_id,
                "code": code,
                "exit_code": exit_code,
                "message": message,
            }
        )

    def resolve(self, record: dict, order_number: str | None) -> dict:
        """A person's finding about a job (from its last record): placed as ORDER, or not."""
        line = {
            "event": RESOLVED,
            "job": record["job"],
            "run": self.run_id,
            "at": stamp(self.clock()),
            **{k: record.get(k) for k in ("name", "merchant", "source", "target")},
            "outcome": PLACED if order_number else NOT_PLACED,
            "order_number": order_number,
            "request_id": record.get("request_id"),
            "cart_id": record.get("cart_id"),
            "was": record.get("state"),
        }
        self._append(line)
        return line


def _try_lock(fd: int) -> bool:
    """Take the run lock on ``fd`` if no other run has it (True), or say it is taken (False).
    Where there are no advisory locks (Windows), every run has it."""
    try:
        import fcntl
    except ImportError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
