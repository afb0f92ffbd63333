"""Checkout flows: one order, start to finish, reported through a callback.

``place_order`` raises; ``attempt`` turns any outcome into an ``OrderResult`` (for --json and
batch). Both are shared by ``cart-cli place`` and ``cart-cli batch``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cart_cli.core.client import Client
from cart_cli.core.crypto import PublicKey, describe_jwe, encrypt_card
from cart_cli.core.errors import ApiError, CartError, Exit
from cart_cli.core.events import (
    ENCRYPT,
    KEY,
    SESSION,
    SUBMIT,
    CreatingCart,
    Event,
    ItemAdded,
    OrderPlaced,
    ShippingUpdated,
    Step,
)
from cart_cli.core.order import Order
from cart_cli.wire import names

SCHEMA = "cart-cli.order-result/1"


class KeyProvider:
    """One public key for a run (a batch shares it); fetched again once if the server rejects it."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._key: PublicKey | None = None
        self._lock = threading.Lock()
        self._refreshed = False

    def get(self) -> PublicKey:
        with self._lock:
            if self._key is None:
                self._key = self.client.public_key()
            return self._key

    def refresh(self, rejected: PublicKey) -> PublicKey | None:
        """A new key if it differs from ``rejected``; None when nothing changed (or tried once)."""
        with self._lock:
            if self._key is not None and self._key.kid != rejected.kid:
                return self._key  # another order already fetched the new key
            if self._refreshed:
                return None
            self._refreshed = True
            fresh = self.client.public_key()
            if fresh.kid == rejected.kid:
                return None
            self._key = fresh
            return fresh


@dataclass
class Placed:
    order: dict
    request_id: str
    elapsed_ms: int
    stage_ms: dict


@dataclass
class OrderResult:
    merchant: str
    ok: bool
    order: dict | None = None
    error: CartError | None = None
    elapsed_ms: int = 0
    stage_ms: dict = field(default_factory=dict)
    request_id: str | None = None

    @classmethod
    def of(cls, merchant: str, placed: Placed) -> OrderResult:
        return cls(
            merchant,
            True,
            order=placed.order,
            elapsed_ms=placed.elapsed_ms,
            stage_ms=placed.stage_ms,
            request_id=placed.request_id,
        )

    @property
    def exit_code(self) -> Exit:
        return Exit.OK if self.ok else (self.error.exit_code if self.error else Exit.INTERNAL)

    def to_json(self) -> dict:
        doc = {"schema": SCHEMA, "ok": self.ok, "merchant": self.merchant}
        if self.ok:
            doc["order"] = self.order
            doc["request_id"] = self.request_id
        else:
            doc["error"] = self.error.to_dict() if self.error else None
        doc["elapsed_ms"] = self.elapsed_ms
        doc["stage_ms"] = self.stage_ms
        return doc


class _Clock:
    def __init__(self, on_event: Callable[[Event], None]) -> None:
        self.start = time.perf_counter()
        self.stages: dict[str, int] = {}
        self.on_event = on_event

    def ms(self) -> int:
        return int((time.perf_counter() - self.start) * 1000)

    def __call__(self, ev: Event) -> None:
        stage = ev.name if isinstance(ev, Step) else _EVENT_STAGE.get(type(ev))
        if stage:
            self.stages[stage] = self.ms()
        self.on_event(ev)


_EVENT_STAGE = {
    CreatingCart: names.CREATING_CART,
    ItemAdded: names.ITEM_ADDED,
    ShippingUpdated: names.SHIPPING_UPDATED,
    OrderPlaced: names.ORDER_PLACED,
}


def prepare(
    order: Order, keys: KeyProvider, key: PublicKey | None = None
) -> tuple[dict, PublicKey]:
    """The place-order body with a freshly encrypted card, and the key used."""
    key = key or keys.get()
    return order.wire_body(encrypt_card(order.card.payload(), key)), key


def dry_run(order: Order, keys: KeyProvider) -> dict:
    """What would be sent, with the card shown only as a description of its JWE."""
    body, key = prepare(order, keys)
    body["encrypted_card"] = describe_jwe(body["encrypted_card"], key.kid)
    return {"method": "POST", "url": keys.client.order_url(order.merchant), "body": body}


def place_order(
    order: Order,
    client: Client,
    *,
    keys: KeyProvider | None = None,
    sse: bool = True,
    on_event: Callable[[Event], None] = lambda e: None,
) -> Placed:
    keys = keys or KeyProvider(client)
    clock = _Clock(on_event)
    clock(Step(SESSION))
    client.token()
    clock(Step(KEY))
    key = keys.get()
    clock(Step(ENCRYPT))
    body, key = prepare(order, keys, key)
    clock(Step(SUBMIT))
    send = dict(sse=sse, on_event=clock, total_items=len(order.items))
    try:
        placed, rid = client.place_order(order.merchant, body, **send)
    except ApiError as e:
        # Refused before any work with a validation error: maybe our key was rotated away.
        # Only then is sending again safe (nothing was begun); after work began, never.
        if (
            e.during_work
            or e.code != names.Err.INVALID_INPUT
            or (fresh := keys.refresh(key)) is None
        ):
            raise
        clock(Step(ENCRYPT))
        body, key = prepare(order, keys, fresh)
        clock(Step(SUBMIT))
        placed, rid = client.place_order(order.merchant, body, **send)
    return Placed(placed, rid, clock.ms(), clock.stages)


def attempt(order: Order, client: Client, **kw) -> OrderResult:
    """place_order, with any CartError captured into the result."""
    started = time.perf_counter()
    try:
        placed = place_order(order, client, **kw)
    except CartError as e:
        ms = int((time.perf_counter() - started) * 1000)
        return OrderResult(order.merchant, False, error=e, elapsed_ms=ms)
    return OrderResult.of(order.merchant, placed)
