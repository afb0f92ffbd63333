"""Typed progress events, and the decoding of place-order's SSE stream into them.

Lines are framed here, in linear time with a limit on each line and each event checked as
bytes arrive, and only then parsed by sseclient-py (whose own buffer grew quadratically on lines
without a blank one, and had no limit): multi-line data, CRLF/LF/CR, comments, id/retry
fields, chunks split anywhere."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cart_cli.core import wirejson
from cart_cli.core.answers import tidy_cart
from cart_cli.wire import names

MAX_EVENT_BYTES = 2 << 20  # one event's data; more is not a cart
MAX_LINE_BYTES = MAX_EVENT_BYTES + 64  # a data line may hold a whole event
# sseclient-py copies its buffer once per line of an event: few lines keep that cheap. The
# contract's events are one data line each.
MAX_EVENT_LINES = 1_000


# Local steps before the order is sent, in order. SUBMIT: the order may leave from here on.
SESSION, KEY, ENCRYPT, SUBMIT = "session", "key", "encrypt", "submit"


@dataclass(frozen=True)
class Step:
    """A local step before the order is sent: SESSION, KEY, ENCRYPT, SUBMIT."""

    name: str

    @property
    def submits(self) -> bool:
        return self.name == SUBMIT


@dataclass(frozen=True)
class CreatingCart:
    domain: str


@dataclass(frozen=True)
class ItemAdded:
    cart: dict
    index: int  # 1-based
    total: int | None  # items in the order, when known


@dataclass(frozen=True)
class ShippingUpdated:
    cart: dict


@dataclass(frozen=True)
class OrderPlaced:
    order: dict


@dataclass(frozen=True)
class ErrorEvent:
    error: dict


@dataclass(frozen=True)
class Garbled:
    """A known event whose data could not be read; progress only, so it is skipped."""

    event: str
    reason: str


@dataclass(frozen=True)
class Note:
    """Something the user should know that changes no outcome (a placed order's answer with a
    broken decorative field, dropped)."""

    message: str


@dataclass(frozen=True)
class FlowFallback:
    """--flow auto: the server has no place-order route, so the order goes through the cart
    flow instead (once). Not a stage."""

    reason: str  # the server's answer, e.g. "RouteNotFound: POST /api/...: Not Found"

    @property
    def message(self) -> str:
        return (
            f"the server has no place-order route ({self.reason}); nothing was placed by it, "
            "so the order goes through the cart flow (complete-order) instead"
        )


Event = (
    Step
    | CreatingCart
    | ItemAdded
    | ShippingUpdated
    | OrderPlaced
    | ErrorEvent
    | Garbled
    | FlowFallback
    | Note
)

_STAGE = {
    CreatingCart: names.CREATING_CART,
    ItemAdded: names.ITEM_ADDED,
    ShippingUpdated: names.SHIPPING_UPDATED,
    OrderPlaced: names.ORDER_PLACED,
}


def stage_of(ev: Event) -> str | None:
    """The stage an event marks: a local step's name, or the contract's event name; None for an
    event that is not a stage (an error, an unreadable event)."""
    return ev.name if isinstance(ev, Step) else _STAGE.get(type(ev))


class StreamTooLarge(Exception):
    pass


BOM = b"\xef\xbb\xbf"


def decode(chunks: Iterable[bytes], total_items: int | None = None) -> Iterator[Event]:
    """Typed events from the raw bytes of an SSE stream. Unknown events are ignored.

    Closing this generator closes ``chunks`` at once (not whenever the GC gets to it)."""
    try:
        yield from _typed(sse_events(chunks), total_items)
    finally:
        close = getattr(chunks, "close", None)
        if close:
            close()


def sse_events(
    chunks: Iterable[bytes], max_line: int = MAX_LINE_BYTES, max_event: int = MAX_EVENT_BYTES
) -> Iterator[tuple[str, bytes]]:
    """(event name, data) of each event in an SSE stream, parsed by sseclient-py (fields, ``data``
    lines joined with LF, ``id``/``retry``/unknown fields ignored, an event with no data not
    dispatched, a last event cut off by the end of the stream still dispatched).

    What reaches sseclient-py is bounded first by :func:`bounded_lines`, in linear time: its own
    buffer grows by copying, once per line, so a stream of comment lines with no blank line
    between them cost it quadratic time, and nothing limited a line or an event."""
    from sseclient import SSEClient

    # latin-1 maps each byte to one character and back: the data reaches the JSON reader as
    # the bytes that were sent, where invalid UTF-8 is a finding, not a crash mid-stream.
    client = SSEClient(bounded_lines(chunks, max_line, max_event), char_enc="latin-1")
    for event in client.events():
        yield event.event, event.data.encode("latin-1")


def bounded_lines(chunks: Iterable[bytes], max_line: int, max_event: int) -> Iterator[bytes]:
    """The lines of an SSE stream, each ending in LF, for sseclient-py: lines end in CRLF, LF or
    CR, split anywhere between chunks; a UTF-8 BOM at the very start is dropped; comments are
    not passed on (a keepalive reaches no buffer), nor blank lines that end nothing. A line
    longer than ``max_line``, an event larger than ``max_event`` or with more than
    ``MAX_EVENT_LINES`` lines raises StreamTooLarge as soon as it is seen."""
    partial = bytearray()  # a line not yet ended
    skip_lf = False  # the last chunk ended in CR: a LF starting the next belongs to it
    start = True
    size = lines_in_event = 0

    def emit(line: bytes) -> Iterator[bytes]:
        nonlocal size, lines_in_event
        if len(line) > max_line:
            raise StreamTooLarge(f"an event stream line is longer than {max_line:,} bytes")
        if not line:
            if lines_in_event:
                yield b"\n"
            size = lines_in_event = 0
        elif line[:1] != b":":
            size += len(line) + 1
            lines_in_event += 1
            if size > max_event:
                raise StreamTooLarge(f"an event is larger than {max_event:,} bytes")
            if lines_in_event > MAX_EVENT_LINES:
                raise StreamTooLarge(f"an event has more than {MAX_EVENT_LINES:,} lines")
            yield line + b"\n"

    for chunk in chunks:
        if start:
            partial += chunk
            if len(partial) < len(BOM) and BOM.startswith(bytes(partial)):
                continue
            chunk, start = bytes(partial).removeprefix(BOM), False
            partial.clear()
        if skip_lf and chunk[:1] == b"\n":
            chunk, skip_lf = chunk[1:], False
        if not chunk:
            continue
        skip_lf = chunk[-1:] == b"\r"
        lines = chunk.splitlines(keepends=True)
        tail = lines.pop() if lines and lines[-1][-1:] not in (b"\n", b"\r") else b""
        for line in lines:
            if partial:
                partial += line
                line = bytes(partial)
                partial.clear()
            yield from emit(line.rstrip(b"\r\n"))
        if tail:
            partial += tail
            if len(partial) > max_line:
                raise StreamTooLarge(f"an event stream line is longer than {max_line:,} bytes")
    if start and partial:  # the whole stream was shorter than a BOM
        partial = bytearray(bytes(partial).removeprefix(BOM))
    if partial:
        yield from emit(bytes(partial))


def _typed(raw_events: Iterable[tuple[str, bytes]], total_items: int | None) -> Iterator[Event]:
    items = 0
    for name, raw in raw_events:
        if name not in (*names.EVENT_ORDER, names.ERROR):
            continue
        try:
            data = wirejson.loads(raw) if raw.strip() else {}
        except wirejson.Unreadable as e:
            yield Garbled(name, f"data is {e}" if str(e) == "not JSON" else str(e))
            continue
        if not isinstance(data, dict):
            yield Garbled(name, "data is not a JSON object")
            continue
        if name == names.CREATING_CART:
            yield CreatingCart(str(data.get("domain", "")))
        elif name == names.ITEM_ADDED:
            items += 1
            yield ItemAdded(tidy_cart(data), items, total_items)
        elif name == names.SHIPPING_UPDATED:
            yield ShippingUpdated(tidy_cart(data))
        elif name == names.ORDER_PLACED:
            yield OrderPlaced(data)
        else:
            yield ErrorEvent(data)
