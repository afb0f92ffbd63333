"""Typed progress events, and the decoding of place-order's SSE stream into them.

The SSE framing is sseclient-py's (it follows the standard: multi-line data, CRLF, comments,
id/retry fields, chunks split anywhere). This module turns its events into typed ones."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cart_cli.wire import names

MAX_EVENT_BYTES = 2 << 20  # one event's data; more is not a cart


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


Event = Step | CreatingCart | ItemAdded | ShippingUpdated | OrderPlaced | ErrorEvent | Garbled

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


def limited(chunks: Iterable[bytes], limit: int) -> Iterator[bytes]:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise StreamTooLarge(f"the answer is larger than the {limit:,}-byte limit")
        yield chunk


BOM = b"\xef\xbb\xbf"


def without_bom(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The chunks, less a UTF-8 byte order mark at the very start (it may arrive split)."""
    head = b""
    it = iter(chunks)
    try:
        for chunk in it:
            head += chunk
            if len(head) >= len(BOM) or not BOM.startswith(head):
                break
        if head := head.removeprefix(BOM):
            yield head
        yield from it
    finally:
        close = getattr(chunks, "close", None)
        if close:
            close()


class _Source:
    """What SSEClient reads from: an iterable of byte chunks with close()."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self):
        return iter(self.chunks)

    def close(self) -> None:
        close = getattr(self.chunks, "close", None)
        if close:
            close()


def decode(chunks: Iterable[bytes], total_items: int | None = None) -> Iterator[Event]:
    """Typed events from the raw bytes of an SSE stream. Unknown events are ignored.

    Closing this generator closes ``chunks`` at once (not whenever the GC gets to it)."""
    from sseclient import SSEClient

    client = SSEClient(_Source(without_bom(chunks)))
    try:
        yield from _typed(client.events(), total_items)
    finally:
        client.close()


def _typed(raw_events, total_items: int | None) -> Iterator[Event]:
    items = 0
    for raw in raw_events:
        name = raw.event
        if name not in (*names.EVENT_ORDER, names.ERROR):
            continue
        if len(raw.data) > MAX_EVENT_BYTES:
            raise StreamTooLarge(f"a {name} event is larger than {MAX_EVENT_BYTES:,} bytes")
        try:
            data = json.loads(raw.data) if raw.data.strip() else {}
        except ValueError:
            data = None
        if not isinstance(data, dict):
            yield Garbled(name, "data is not a JSON object")
            continue
        if name == names.CREATING_CART:
            yield CreatingCart(str(data.get("domain", "")))
        elif name == names.ITEM_ADDED:
            items += 1
            yield ItemAdded(data, items, total_items)
        elif name == names.SHIPPING_UPDATED:
            yield ShippingUpdated(data)
        elif name == names.ORDER_PLACED:
            yield OrderPlaced(data)
        else:
            yield ErrorEvent(data)
