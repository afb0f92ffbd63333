"""The run's clock, read from the environment once: the client's Environment and the sandbox's
entry points (``cart-cli sandbox``, ``--sandbox``, the pytest plugin) take it from here, so
``CART_CLI_NOW`` moves them together (card expiry, token times, order times)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timezone

NOW_VAR = "CART_CLI_NOW"  # the run starts at this time (YYYY-MM-DD[THH:MM[:SS]]): tests, rehearsals


def fixed_clock(text: str) -> Callable[[], datetime]:
    """A clock that always says ``text`` (an ISO date or date-time, UTC unless it says)."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{NOW_VAR}={text!r} is not a date like 2031-09-01") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return lambda: when


def shifted_clock(text: str) -> Callable[[], datetime]:
    """A clock that starts at ``text`` and moves on as time passes (CART_CLI_NOW): the run lives
    on that day, and gaps between its events are still real (ledger times, rates)."""
    start = fixed_clock(text)()
    offset = start - datetime.now(timezone.utc)
    return lambda: datetime.now(timezone.utc) + offset


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


def clock_from(environ: Mapping[str, str]) -> Callable[[], datetime]:
    """``CART_CLI_NOW``'s clock when it is set, else the system's. ValueError for a bad date."""
    return shifted_clock(environ[NOW_VAR]) if environ.get(NOW_VAR) else system_clock


def epoch_clock(clock: Callable[[], datetime]) -> Callable[[], float]:
    """The same clock in seconds since the epoch, as the sandbox keeps time."""
    return lambda: clock().timestamp()
