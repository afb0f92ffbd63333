"""The local order history: every finished order (placed or not), one JSON line each.

Kept in the user data folder: a 0600 file in a 0700 folder. Each line carries the target it went
to and the order as the API answered it, minus card data (the payment summary keeps only the
card type and last four, as the receipt shows them). Reads no process globals.

Bounded by size: once ``history.jsonl`` passes MAX_BYTES (4 MiB, some 2,000 orders) it is
renamed ``history.1.jsonl``, replacing the one before, and a new file starts. Reading takes
both, so the history holds the last MAX_BYTES to 2 x MAX_BYTES of orders, never more."""

from __future__ import annotations

import json
import os
import re
import stat
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cart_cli.core.errors import UsageError
from cart_cli.core.files import open_append, parse_json_line, read_regular
from cart_cli.wire.names import Schema

SCHEMA = Schema.HISTORY
FILE = "history.jsonl"
ROTATED = "history.1.jsonl"  # the file before: the older orders
MAX_BYTES = 4 * 1024 * 1024
PAYMENT_KEEP = ("payment_type", "card_type", "last_four")


def without_card_data(order: dict) -> dict:
    out = dict(order)
    pay = out.get("payment_summary")
    if isinstance(pay, dict):
        out["payment_summary"] = {k: pay[k] for k in PAYMENT_KEEP if k in pay}
    for key in ("encrypted_card", "card"):
        out.pop(key, None)
    return out


def record_of(
    result,
    *,
    target: dict | None,
    at: datetime,
    source: str | None = None,
    via: str | None = None,
) -> dict:
    """A history line for a checkout.OrderResult (as submit.submit_one built it)."""
    from cart_cli.wire.money import currency_of, to_cents

    order = result.order or {}
    err = result.error
    cents = to_cents(order.get("total")) if result.ok else None
    return {
        "schema": SCHEMA,
        "at": at.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "target": target,
        "merchant": result.merchant,
        "outcome": str(result.outcome),
        "order_number": result.order_number,
        "total_cents": cents,
        "currency": currency_of(order.get("total")) if result.ok else None,
        "error": {"code": err.code, "message": err.message} if err else None,
        "request_id": result.request_id or (err.request_id if err else None),
        "source": source,
        "order": without_card_data(order) if result.ok else None,
        **({"via": via} if via else {}),  # "monitor": a probe of cart-cli monitor
    }


class History:
    def __init__(self, directory: Path, *, max_bytes: int | None = None) -> None:
        self.dir = Path(directory)
        self.path = self.dir / FILE
        self.rotated = self.dir / ROTATED
        self.max_bytes = MAX_BYTES if max_bytes is None else max_bytes
        self._lock = threading.Lock()
        self._fd: int | None = None  # the file, kept open between appends
        self.problems: list[str] = []  # lines the last read skipped: "FILE:LINE: what"

    def append(self, record: dict) -> None:
        """One line, appended whole (O_APPEND); then the file is rotated if it has grown past
        max_bytes. Raises OSError when it cannot be written. The file stays open between lines
        (a batch writes one per order), and is opened again once it is no longer the file at
        the path (rotated, by this process or another, or removed)."""
        line = (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode()
        with self._lock:
            fd = self._open()
            os.write(fd, line)
            st = os.fstat(fd)
            if st.st_size > self.max_bytes:
                self._rotate(st)
                self.close()

    def _open(self) -> int:
        if self._fd is not None:
            try:
                now = os.stat(self.path)  # links followed, as open does
                kept = os.fstat(self._fd)
                if (now.st_dev, now.st_ino) == (kept.st_dev, kept.st_ino):
                    return self._fd
            except FileNotFoundError:
                pass
            self.close()
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = open_append(self.path)  # a regular file, or OSError: never a device
        try:
            os.fchmod(fd, 0o600)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return fd

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)

    def _rotate(self, written) -> None:
        """Rename the full file to history.1.jsonl, unless another process has already (the
        file at the path is no longer the one this one wrote to)."""
        try:
            now = os.lstat(self.path)
            if (now.st_dev, now.st_ino) != (written.st_dev, written.st_ino):
                return  # another process has rotated it, or it is a link: left alone
            try:
                old = os.lstat(self.rotated)
            except FileNotFoundError:
                old = None
            if old is None or stat.S_ISREG(old.st_mode):  # never replaces anything else
                os.replace(self.path, self.rotated)
        except FileNotFoundError:
            pass

    def files(self) -> list[Path]:
        """The history's files, oldest first."""
        return [self.rotated, self.path]

    def _lines(self) -> list[tuple[Path, int, bytes]]:
        """Every non-blank line: its file, its line number, its bytes."""
        out: list[tuple[Path, int, bytes]] = []
        for path in self.files():
            try:
                data = read_regular(path)
            except FileNotFoundError:
                continue
            except OSError as e:
                raise UsageError(f"cannot read the history {path}: {e.strerror or e}") from None
            out += [(path, n, raw) for n, raw in enumerate(data.split(b"\n"), 1) if raw.strip()]
        return out

    def _records(self) -> Iterator[dict]:
        """Every record, oldest first; a line that is not one is said in ``problems`` (as
        ``FILE:LINE: what``), never fatal: a crash may tear a line, a person may edit one."""
        self.problems = []
        for path, number, raw in self._lines():
            rec, why = parse_json_line(raw)
            if why is None and not (isinstance(rec, dict) and rec.get("schema") == SCHEMA):
                why = "not a history line"
            if why is not None:
                self.problems.append(f"{path}:{number}: {why}, skipped")
                continue
            yield rec

    def read(self) -> list[dict]:
        """Every record, oldest first."""
        return list(self._records())

    def select(
        self,
        *,
        since: datetime | None = None,
        merchant: str | None = None,
        profile=None,
        limit: int | None = None,
    ) -> tuple[list[dict], int]:
        """The matching records, oldest first: the last ``limit`` of them (all when None), and
        how many match in all (``limit`` None or 0: all of them)."""

        def wanted(rec: dict) -> bool:
            if merchant and rec.get("merchant") != merchant.lower():
                return False
            if profile and (rec.get("target") or {}).get("profile") != profile:
                return False
            return not (since and (when := _when(rec)) is not None and when < since)

        out = [rec for rec in self._records() if wanted(rec)]
        return (out[-limit:] if limit else out), len(out)

    def find(self, order_number: str) -> list[dict]:
        """Every record of that order number, the latest last."""
        return [r for r in self.read() if str(r.get("order_number")) == order_number]

    def merchants(self) -> list[str]:
        return sorted({str(r["merchant"]) for r in self.read() if r.get("merchant")})


def _when(rec: dict) -> datetime | None:
    try:
        return datetime.fromisoformat(str(rec.get("at")).replace("Z", "+00:00"))
    except ValueError:
        return None


_RELATIVE = re.compile(r"^([0-9]{1,6})\s*([mhdw])$")
_UNIT = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime) -> datetime:
    """'3d', '12h', '30m', '2w' before ``now``; or a date / date-time (UTC unless it says)."""
    t = text.strip().lower()
    m = _RELATIVE.match(t)
    if m:
        try:
            return now - timedelta(**{_UNIT[m.group(2)]: int(m.group(1))})
        except OverflowError:
            raise UsageError(f"--since {text!r}: too far back") from None
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--since {text!r}: give a date (2026-11-28), a date-time, or an age like 3d, 12h, 30m"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
