"""Checkout flows: one order, start to finish, reported through a callback.

Two flows (docs/api.md, "Two flows"): ``place-order`` (one call, SSE or not) and ``cart`` (clear
the cart, add each item, set shipping info and method, then complete-order). Both report the same
typed events and give the same results and errors.

``place_order`` and ``complete_cart`` raise; core/submit.py, the one path every order takes
(``place``, ``cart checkout``, each batch job), turns any outcome into the one ``OrderResult``."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cart_cli.core.answers import tidy_order
from cart_cli.core.client import Client
from cart_cli.core.crypto import PublicKey, describe_jwe, encrypt_card
from cart_cli.core.errors import (
    NOT_PLACED,
    UNKNOWN,
    ApiError,
    CartBusy,
    CartError,
    Exit,
    Outcome,
    SessionReplaced,
    UsageError,
)
from cart_cli.core.events import (
    ENCRYPT,
    KEY,
    SESSION,
    SUBMIT,
    CreatingCart,
    Event,
    FlowFallback,
    ItemAdded,
    Note,
    OrderPlaced,
    ShippingUpdated,
    Step,
    stage_of,
)
from cart_cli.core.order import AUTO_FLOW, CART_FLOW, FLOWS, PLACE_ORDER_FLOW, Order
from cart_cli.wire import endpoints as ep
from cart_cli.wire import names
from cart_cli.wire.money import to_cents
from cart_cli.wire.names import Schema

SCHEMA = Schema.ORDER_RESULT
DRY_RUN_SCHEMA = Schema.DRY_RUN


@dataclass(frozen=True)
class FlowChoice:
    """Which flow an order takes: --flow, else the order's ``flow:``, else CART_CLI_FLOW, else
    place-order."""

    flag: str | None = None
    env: str | None = None
    profile: str | None = None  # the profile's flow (checked when the config was read)

    def __post_init__(self) -> None:
        if self.env and self.env not in FLOWS:
            raise UsageError(f"CART_CLI_FLOW={self.env!r}: must be one of {', '.join(FLOWS)}")

    def of(self, order: Order) -> str:
        return self.flag or order.flow or self.env or self.profile or PLACE_ORDER_FLOW


class KeyProvider:
    """One public key for a run (a batch shares it); fetched again once each time the server
    rejects the current one (the key rotates, maybe several times during a long batch)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._key: PublicKey | None = None
        self._lock = threading.Lock()
        self._rejected: set[str] = set()  # kids already refused: fetched again once each

    def get(self) -> PublicKey:
        with self._lock:
            if self._key is None:
                self._key = self.client.public_key()
            return self._key

    def refresh(self, rejected: PublicKey) -> PublicKey | None:
        """A new key if it differs from ``rejected``; None when nothing changed (or this key was
        already refused once and fetching again gave it back)."""
        with self._lock:
            if self._key is not None and self._key.kid != rejected.kid:
                return self._key  # another order already fetched the new key
            if rejected.kid in self._rejected:
                return None
            self._rejected.add(rejected.kid)
            fresh = self.client.public_key()
            if fresh.kid == rejected.kid:
                return None
            self._key = fresh
            return fresh


@dataclass(slots=True)
class Placed:
    order: dict
    request_id: str
    elapsed_ms: int
    stage_ms: dict
    fallback: dict | None = None  # --flow auto fell back to the cart flow: from, to, reason


@dataclass(slots=True)  # a batch keeps one per order
class OrderResult:
    """What became of one order: built once (submit.outcome_of), and written as it is as the
    --json document or JSON line, the ledger's result line and the history's record."""

    merchant: str
    ok: bool
    order: dict | None = None
    error: CartError | None = None
    elapsed_ms: int = 0
    stage_ms: dict = field(default_factory=dict)
    request_id: str | None = None  # the order call's: the answer's, the error's, or as sent
    fallback: dict | None = None
    cart_id: str | None = None  # the cart it was built in (cart flow), when known

    @classmethod
    def of(cls, merchant: str, placed: Placed) -> OrderResult:
        return cls(
            merchant,
            True,
            order=placed.order,
            elapsed_ms=placed.elapsed_ms,
            stage_ms=placed.stage_ms,
            request_id=placed.request_id,
            fallback=placed.fallback,
        )

    @property
    def exit_code(self) -> Exit:
        return Exit.OK if self.ok else (self.error.exit_code if self.error else Exit.INTERNAL)

    @property
    def outcome(self) -> str:
        """placed, not_placed or unknown (may have been placed)."""
        if self.ok:
            return Outcome.PLACED
        return (self.error.outcome if self.error else None) or NOT_PLACED

    @property
    def order_number(self) -> str | None:
        return (self.order or {}).get("platform_order_number") if self.ok else None

    def ledger_fields(self) -> dict:
        """The ledger's result line for this order (ledger.Ledger.result's arguments)."""
        err = self.error
        return {
            "outcome": self.outcome,
            "order_number": self.order_number,
            "request_id": self.request_id,
            "cart_id": self.cart_id,
            "code": err.code if err else None,
            "exit_code": int(self.exit_code),
            "message": err.message if err else None,
        }

    def to_json(self) -> dict:
        doc = {"schema": SCHEMA, "ok": self.ok, "merchant": self.merchant}
        if self.ok:
            doc["order"] = self.order
            doc["request_id"] = self.request_id
        else:
            doc["error"] = self.error.to_dict() if self.error else None
        doc["elapsed_ms"] = self.elapsed_ms
        doc["stage_ms"] = self.stage_ms
        fallback = self.fallback or getattr(self.error, "fallback", None)
        if fallback:  # --flow auto took the cart flow (only then: documents stay as they were)
            doc["fallback"] = fallback
        return doc


class _Clock:
    def __init__(self, on_event: Callable[[Event], None]) -> None:
        self.start = time.perf_counter()
        self.stages: dict[str, int] = {}
        self.on_event = on_event

    def ms(self) -> int:
        return int((time.perf_counter() - self.start) * 1000)

    def __call__(self, ev: Event) -> None:
        stage = stage_of(ev)
        if stage:
            self.stages[stage] = self.ms()
        self.on_event(ev)


def complete_order_body(encrypted_card: str, billing: dict, captcha_token: str | None) -> dict:
    body = {"encrypted_card": encrypted_card, "billing_info": billing}
    if captcha_token:
        body["captcha_token"] = captcha_token
    return body


def prepare(
    order: Order, keys: KeyProvider, key: PublicKey | None = None, flow: str = PLACE_ORDER_FLOW
) -> tuple[dict, PublicKey]:
    """The order call's body (place-order, or complete-order for the cart flow) with a freshly
    encrypted card, and the key used."""
    key = key or keys.get()
    jwe = encrypt_card(order.card.payload(), key)
    if flow == CART_FLOW:
        billing = order.billing.model_dump(exclude_none=True)
        return complete_order_body(jwe, billing, order.captcha_token), key
    return order.wire_body(jwe), key


def dry_run(order: Order, keys: KeyProvider, *, sse: bool = True, flow: str = PLACE_ORDER_FLOW):
    """What would be sent, with the card shown only as a description of its JWE. ``auto``:
    the place-order call, and what the fallback would be."""
    if flow == AUTO_FLOW:
        doc = dry_run(order, keys, sse=sse, flow=PLACE_ORDER_FLOW)
        return {
            **doc,
            "flow": AUTO_FLOW,
            "fallback": "the cart flow (cart calls, then complete-order), once, if the server "
            "answers 404 RouteNotFound or ErrorNotFound for the place-order route",
        }
    client = keys.client
    body, key = prepare(order, keys, flow=flow)
    body["encrypted_card"] = describe_jwe(body["encrypted_card"], key.kid)
    doc = {"schema": DRY_RUN_SCHEMA, "dry_run": True, "flow": flow}
    if flow == PLACE_ORDER_FLOW:
        url = client.order_url(order.merchant, sse=sse)
        return {**doc, "method": ep.PLACE_ORDER.method, "url": url, "body": body}
    m = order.merchant
    calls = [{"method": ep.CLEAR_CART.method, "url": client.url(ep.CLEAR_CART, domain=m)}]
    calls += [
        {
            "method": ep.ADD_ITEM.method,
            "url": client.url(ep.ADD_ITEM, domain=m, sku=i.variant_id, qty=i.quantity),
        }
        for i in order.items
    ]
    calls.append(
        {
            "method": ep.SHIPPING_INFO.method,
            "url": client.url(ep.SHIPPING_INFO, domain=m),
            "body": order.shipping_info.model_dump(exclude_none=True),
        }
    )
    calls.append(
        {
            "method": ep.SHIPPING_METHOD.method,
            "url": client.url(ep.SHIPPING_METHOD, domain=m),
            "body": {"shipping_method": order.shipping_method or "<the cheapest offered>"},
        }
    )
    doc["cart_calls"] = calls
    url = client.url(ep.COMPLETE_ORDER, domain=m)
    return {**doc, "method": ep.COMPLETE_ORDER.method, "url": url, "body": body}


def _session_and_key(client: Client, keys: KeyProvider, clock: _Clock) -> PublicKey:
    """The local steps before encrypting: a valid session, then the public key."""
    clock(Step(SESSION))
    client.token()
    clock(Step(KEY))
    key = keys.get()
    clock(Step(ENCRYPT))
    return key


def _submit(clock: _Clock, keys: KeyProvider, key: PublicKey, body: dict, body_for, send):
    """Send the order call once. If it is refused before any work with a validation error, our
    key may have been rotated away: only then is sending again safe (nothing was begun), once,
    with a card encrypted for the new key. After work began, never."""
    clock(Step(SUBMIT))
    try:
        return send(body)
    except ApiError as e:
        if e.during_work or e.code != names.Err.INVALID_INPUT:
            raise
        if (fresh := keys.refresh(key)) is None:
            raise
    clock(Step(ENCRYPT))
    body = body_for(fresh)
    clock(Step(SUBMIT))
    return send(body)


def place_order(
    order: Order,
    client: Client,
    *,
    keys: KeyProvider | None = None,
    sse: bool = True,
    flow: FlowChoice | str | None = None,
    on_event: Callable[[Event], None] = lambda e: None,
    on_request: Callable[[str], None] | None = None,
) -> Placed:
    """One order, by the flow chosen; events through ``on_event``, and the request id of each
    order call through ``on_request`` before it leaves."""
    keys = keys or KeyProvider(client)
    how = flow if isinstance(flow, str) else (flow or FlowChoice()).of(order)
    if how != PLACE_ORDER_FLOW:  # the cart flow, maybe
        _check_cart_settled(client, order.merchant)  # before anything is sent
    clock = _Clock(on_event)
    key = _session_and_key(client, keys, clock)
    if how != AUTO_FLOW:
        try:
            placed, rid = _place(order, client, keys, key, how, clock, sse, on_request)
        except ApiError as e:
            if how == PLACE_ORDER_FLOW and no_route(e):
                e.hint = "This server has no place-order route: use --flow cart (or auto)."
            raise
        return Placed(placed, rid, clock.ms(), clock.stages)
    try:
        placed, rid = _place(order, client, keys, key, PLACE_ORDER_FLOW, clock, sse, on_request)
        return Placed(placed, rid, clock.ms(), clock.stages)
    except ApiError as e:
        if not no_route(e):
            raise
        reason = f"{e.code}: {e.message}" if e.message and e.message != e.code else e.code
    fallback = {"from": PLACE_ORDER_FLOW, "to": CART_FLOW, "reason": reason}
    clock(FlowFallback(reason))
    try:
        placed, rid = _place(order, client, keys, keys.get(), CART_FLOW, clock, sse, on_request)
    except CartError as e:
        e.fallback = fallback  # the result, --json included, says which flow failed
        raise
    return Placed(placed, rid, clock.ms(), clock.stages, fallback=fallback)


def no_route(e: ApiError) -> bool:
    """--flow auto falls back only on this: the server answered the place-order call itself
    with 404 RouteNotFound (or ErrorNotFound), before any work. Never on ErrorStoreNotFound (a
    server with the route that does not know the store), nor on any other answer."""
    return e.code in names.NO_ROUTE_ERRORS and e.status == 404 and not e.during_work


def _place(order, client, keys, key, how, clock, sse, on_request=None) -> tuple[dict, str]:
    """One flow's order call(s): the order answer and its request id."""
    body, key = prepare(order, keys, key, how)

    def body_for(fresh: PublicKey) -> dict:
        return prepare(order, keys, fresh, how)[0]

    if how == CART_FLOW:
        with client.cart_lock(order.merchant):
            _check_cart_settled(client, order.merchant)  # again: we may have waited for it
            device = client.new_sessions
            build_cart(order, client, clock)

            def send(body: dict) -> tuple[dict, str]:
                if client.new_sessions != device:
                    raise SessionReplaced(
                        "the session was replaced by a new one (a new device, with its own cart) "
                        "while the cart was being built; nothing was placed",
                        hint="Run the order again: the cart is built afresh.",
                    )
                return client.complete_order(order.merchant, body, on_request=on_request)

            try:
                placed, rid = _submit(clock, keys, key, body, body_for, send)
            except CartError as e:
                if e.outcome == UNKNOWN:
                    client.mark_cart_unsettled(order.merchant, e.request_id)
                raise
        clock(OrderPlaced(placed))  # place-order reports it itself (from the answer or stream)
        return _tidy(placed, clock), rid
    opts = dict(sse=sse, on_event=clock, total_items=len(order.items), on_request=on_request)
    send = functools.partial(client.place_order, order.merchant, **opts)
    placed, rid = _submit(clock, keys, key, body, body_for, send)
    return _tidy(placed, clock), rid


def _tidy(order: dict, on_event: Callable[[Event], None]) -> dict:
    """The placed order without its broken decorative members, each dropped with a Note."""
    order, notes = tidy_order(order)
    for note in notes:
        on_event(Note(note))
    return order


def _check_cart_settled(client: Client, merchant: str) -> None:
    """CartBusy if an earlier cart-flow order on ``merchant`` (same client, so same device) has
    an unknown outcome: emptying the cart now could change an order the server is still
    completing."""
    unsettled, rid = client.cart_unsettled(merchant)
    if unsettled:
        which = f" (request id {rid})" if rid else ""
        raise CartBusy(
            f"not sent: an earlier cart-flow order on {merchant}{which} has an unknown outcome, "
            "and its complete-order may still be running on the server; building this order's "
            "cart would empty that one. Nothing was placed",
            hint="Check the earlier order with the merchant, then run this one again.",
        )


def build_cart(order: Order, client: Client, on_event: Callable[[Event], None]) -> dict:
    """The cart flow up to complete-order: empty the device's cart on the merchant, add each
    item, set shipping info, choose the shipping method. Reports the same events as place-order's
    stream, each from its call's answer. Nothing is placed here: a failure is "not placed"."""
    m = order.merchant
    on_event(CreatingCart(m))
    try:
        client.clear_cart(m)
    except ApiError as e:
        if e.code != names.Err.CART_NOT_FOUND:  # no cart yet: nothing to empty
            raise
    total = len(order.items)
    for index, item in enumerate(order.items, 1):
        cart = client.add_item(m, item.variant_id, item.quantity)
        on_event(ItemAdded(cart, index, total))
    cart = client.set_shipping_info(m, order.shipping_info.model_dump(exclude_none=True))
    if "shipping_method_options" not in cart:  # tolerance: maybe only the cart itself has them
        cart = client.cart(m)
    method = choose_method(cart, order.shipping_method)
    if _chosen(cart) != method:
        cart = client.set_shipping_method(m, method)
    on_event(ShippingUpdated(cart))
    return cart


def _chosen(cart: dict) -> str | None:
    """The sku of the cart's chosen shipping method, if any."""
    method = cart.get("shipping_method")
    return method.get("sku") if isinstance(method, dict) else None


def choose_method(cart: dict, wanted: str | None) -> str:
    """The shipping method to use: ``wanted`` if the cart offers it, else the cheapest offered
    (else the one the merchant chose, when it lists no options)."""
    options = [o for o in cart.get("shipping_method_options") or [] if isinstance(o, dict)]
    skus = [str(o.get("sku")) for o in options if o.get("sku")]
    current = _chosen(cart)
    if wanted:
        if skus and wanted not in skus:
            offered = ", ".join(skus) or "none"
            raise UsageError(
                f"shipping_method {wanted!r} is not offered for this cart (offered: {offered}); "
                "nothing was placed",
                code="ShippingMethodNotOffered",
            )
        return wanted  # with no list to check against, the merchant decides
    if not skus and current:
        return str(current)
    if not skus:
        raise CartError(
            "the merchant offers no shipping method for this cart; nothing was placed",
            code="NoShippingMethod",
            exit_code=Exit.STORE,
        )
    priced = [(to_cents(o.get("price")), i) for i, o in enumerate(options) if o.get("sku")]
    cheapest = min(priced, key=lambda p: (p[0] is None, p[0] or 0, p[1]))
    return str(options[cheapest[1]]["sku"])


def complete_cart(
    merchant: str,
    client: Client,
    card,
    billing: dict,
    *,
    captcha_token: str | None = None,
    keys: KeyProvider | None = None,
    on_event: Callable[[Event], None] = lambda e: None,
    on_request: Callable[[str], None] | None = None,
) -> Placed:
    """complete-order for the cart as it stands (``cart-cli cart checkout``): the same outcome
    rules and key-rotation rule as place_order."""
    keys = keys or KeyProvider(client)
    clock = _Clock(on_event)
    key = _session_and_key(client, keys, clock)

    def body_for(key: PublicKey) -> dict:
        return complete_order_body(encrypt_card(card.payload(), key), billing, captcha_token)

    send = functools.partial(client.complete_order, merchant, on_request=on_request)
    placed, rid = _submit(clock, keys, key, body_for(key), body_for, send)
    clock(OrderPlaced(placed))
    return Placed(_tidy(placed, clock), rid, clock.ms(), clock.stages)
