"""Where one order has got, from the core's events (``Tracker``), and the base of the renderers
that draw it (``Progress``): the stages a person sees and their states."""

from __future__ import annotations

import time
from collections.abc import Callable

from cart_cli.core import events as ev_
from cart_cli.wire import names
from cart_cli.wire.money import currency_of, fmt, to_cents

STEP_TEXT = {
    ev_.SESSION: "session",
    ev_.KEY: "public key",
    ev_.ENCRYPT: "encrypting card",
    ev_.SUBMIT: "sending order",
}
LOCAL_STEPS = (ev_.SESSION, ev_.KEY, ev_.ENCRYPT, ev_.SUBMIT)
PREPARE, WAIT = "prepare", "wait"
# The stages a person sees, in order. With SSE every one of them is announced by the server;
# without it there is only the wait for the one answer.
SSE_STAGES = (
    (PREPARE, "Preparing"),
    (names.CREATING_CART, "Creating cart"),
    (names.ITEM_ADDED, "Adding items"),
    (names.SHIPPING_UPDATED, "Setting shipping"),
    (names.ORDER_PLACED, "Placing order"),
)
# Without SSE the one answer comes when everything is done: one stage for all of it.
PLAIN_STAGES = ((PREPARE, "Preparing"), (WAIT, "Placing order"))
PENDING, ACTIVE, DONE, FAILED = "pending", "active", "done", "failed"


class Tracker:
    """Where one order has got, from its events: the stages (pending, active, done, failed),
    each one's detail and duration, and a step count for a bar whose total is known from the
    start: the four local steps, then (with SSE) cart, one per item, shipping and placed.

    An event says its stage is finished and the next one has begun: the cart is there once
    `creating-cart` came, so an out-of-stock error that follows fails "Adding items"."""

    def __init__(
        self, items: int, *, sse: bool = True, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.items = max(items, 0)
        self.sse = sse
        self.clock = clock
        self.stages = SSE_STAGES if sse else PLAIN_STAGES
        self.keys = [k for k, _ in self.stages]
        self.label = dict(self.stages)
        self.state = dict.fromkeys(self.keys, PENDING)
        self.detail = dict.fromkeys(self.keys, "")
        self.started: dict[str, float] = {}
        self.ended: dict[str, float] = {}
        self.total = len(LOCAL_STEPS) + (3 + self.items if sse else 1)
        self.completed = 0
        self.begun = clock()
        self.finished_at: float | None = None
        self.ok: bool | None = None
        self.how = ""
        self.order_number = ""
        self.error = ""

    # -- reading events

    def __call__(self, ev: ev_.Event) -> None:
        n = len(LOCAL_STEPS)
        if isinstance(ev, ev_.Step):
            self._reach(PREPARE)
            self.detail[PREPARE] = STEP_TEXT.get(ev.name, ev.name)
            if ev.name in LOCAL_STEPS:
                self._count(LOCAL_STEPS.index(ev.name) + 1)
            if ev.submits:
                self._reach(self.keys[1])
        elif isinstance(ev, ev_.CreatingCart):
            self._reach(names.ITEM_ADDED if self.items else names.SHIPPING_UPDATED)
            self.detail[names.CREATING_CART] = ev.domain
            if self.items:
                self.detail[names.ITEM_ADDED] = f"0/{self.items}"
            self._count(n + 1)
        elif isinstance(ev, ev_.ItemAdded):
            self._reach(names.ITEM_ADDED)
            line = (ev.cart.get("line_items") or [{}])[-1]
            sku = (
                (line.get("sku") or line.get("variant_id") or "") if isinstance(line, dict) else ""
            )
            total = ev.total or self.items
            self.detail[names.ITEM_ADDED] = f"{ev.index}/{total} {sku}".strip()
            self._count(n + 1 + min(ev.index, self.items))
            if ev.index >= total:
                self._reach(names.SHIPPING_UPDATED)  # all items in: shipping is under way
        elif isinstance(ev, ev_.ShippingUpdated):
            self._reach(names.ORDER_PLACED)
            method = ev.cart.get("shipping_method") or {}
            if isinstance(method, dict) and method:
                price = fmt(to_cents(method.get("price")), currency_of(method.get("price")))
                self.detail[names.SHIPPING_UPDATED] = f"{method.get('description', '')} {price}"
            self._count(n + 2 + self.items)
        elif isinstance(ev, ev_.OrderPlaced):
            number = str(ev.order.get("platform_order_number", ""))
            self.order_number = number
            self.detail[self.keys[-1]] = number
            self.finish(True)

    def _count(self, position: int) -> None:
        self.completed = min(max(self.completed, position), self.total)

    def _reach(self, key: str) -> None:
        """``key`` is running now: every stage before it is done (it must have happened). Without
        SSE, an event that still comes (the cart flow reports its calls) is all "Placing order"."""
        if key not in self.keys:
            key = self.keys[-1]
        now = self.clock()
        for k in self.keys[: self.keys.index(key)]:
            if self.state[k] in (PENDING, ACTIVE):
                self.started.setdefault(k, now)
                self.ended[k] = now
                self.state[k] = DONE
        if self.state[key] == PENDING:
            self.started[key] = now
            self.state[key] = ACTIVE

    def finish(self, ok: bool, error: str = "", how: str = "failed") -> None:
        """The end: every stage done, or the running one failed (with ``error``); ``how`` a
        failure ended: failed, unknown (the order may have been placed) or interrupted."""
        if self.ok is not None:
            return
        now = self.clock()
        self.ok, self.error, self.finished_at = ok, error, now
        self.how = "placed" if ok else how
        if ok:
            self._reach(self.keys[-1])
            self.state[self.keys[-1]] = DONE
            self.ended[self.keys[-1]] = now
            self.completed = self.total
            return
        running = self.current or next((k for k in self.keys if self.state[k] == PENDING), None)
        if running:
            self.started.setdefault(running, now)
            self.ended[running] = now
            self.state[running] = FAILED
            if error:
                self.detail[running] = error

    # -- reading the state

    @property
    def current(self) -> str | None:
        return next((k for k in self.keys if self.state[k] == ACTIVE), None)

    @property
    def failed_stage(self) -> str | None:
        return next((k for k in self.keys if self.state[k] == FAILED), None)

    def seconds(self, key: str) -> float | None:
        if key not in self.started:
            return None
        return self.ended.get(key, self.clock()) - self.started[key]

    def elapsed(self) -> float:
        return (self.finished_at or self.clock()) - self.begun

    def stage_text(self) -> str:
        """The running stage in a few words, for one line (batch)."""
        key = self.current or self.failed_stage or self.keys[-1]
        if key == PREPARE and self.detail[key]:
            return f"{self.label[key]} ({self.detail[key]})"
        detail = self.detail[key] if key == names.ITEM_ADDED else ""
        return f"{self.label[key]} {detail}".strip()


def how_it_ended(exc: BaseException | None) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return "unknown" if getattr(exc, "outcome", None) == "unknown" else "failed"


def error_text(exc: BaseException | None) -> str:
    if exc is None:
        return ""
    code = getattr(exc, "code", None)
    if code:
        return str(code)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return type(exc).__name__


class Progress:
    """Base renderer: a Tracker fed with core events; subclasses draw it."""

    def __init__(
        self,
        merchant: str,
        *,
        items: int = 0,
        sse: bool = True,
        target: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.merchant = merchant
        self.target = target
        self.tracker = Tracker(items, sse=sse, clock=clock)

    def __call__(self, ev: ev_.Event) -> None:
        if isinstance(ev, ev_.FlowFallback):  # --flow auto: not a stage, a note
            self.warn(ev.message)
            return
        self.tracker(ev)
        if isinstance(ev, ev_.Garbled):
            self.warn(f"skipped an unreadable {ev.event} event ({ev.reason})")
        elif isinstance(ev, ev_.Note):
            self.warn(ev.message)
        self.draw(ev)

    def draw(self, ev) -> None:
        pass

    def warn(self, message: str) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.tracker.finish(exc_type is None, error_text(exc), how_it_ended(exc))
        self.close()

    def close(self) -> None:
        pass
