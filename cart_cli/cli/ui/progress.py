"""Renderers: progress (live display, plain lines, nothing) on stderr; results on stdout.

rich is imported only by the code that draws (the live displays, tables, the receipt): a piped or
--json run that prints plain lines never needs it."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from cart_cli.core import events as ev_
from cart_cli.wire import names
from cart_cli.wire.money import currency_of, fmt, to_cents

PIPED_WIDTH = 200
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


# ---- consoles ---


def make_console(file, is_terminal: bool, environ, *, piped_width: bool = False):
    """A console on ``file``, reading NO_COLOR, TERM, COLUMNS from ``environ`` (not the process).
    ``piped_width``: a table piped elsewhere is not cut to 80 columns unless COLUMNS says so."""
    from rich.console import Console

    width = None
    if piped_width and not is_terminal and "COLUMNS" not in environ:
        width = PIPED_WIDTH
    return Console(
        file=file,
        highlight=False,
        soft_wrap=not piped_width,
        width=width,
        force_terminal=is_terminal or None,
        _environ=dict(environ),
    )


def is_live(console) -> bool:
    return console.is_terminal and not console.is_dumb_terminal


def live_terminal(isatty: bool, environ) -> bool:
    """Can a live display be drawn on this stream? A terminal that is not TERM=dumb/unknown (as
    rich sees it), answered without importing rich: a piped run never needs it."""
    return isatty and environ.get("TERM", "").lower() not in ("dumb", "unknown")


def clock_text(seconds: float | None) -> str:
    if seconds is None:
        return "-:--"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def one_under_another(*renderables):
    """Renderables one under the other, each wrapped to the width: a one-column grid, because
    a table wraps its cells even on a console that soft-wraps (whose plain Text would run past
    the edge, and a live display that the terminal wraps miscounts its own lines)."""
    from rich.table import Table

    grid = Table.grid()
    grid.add_column(overflow="fold")
    for r in renderables:
        grid.add_row(r)
    return grid


# ---- progress of one order ---


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
        self.tracker(ev)
        if isinstance(ev, ev_.Garbled):
            self.warn(f"skipped an unreadable {ev.event} event ({ev.reason})")
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


class Quiet(Progress):
    pass


class PlainLines(Progress):
    """One plain line per stage on stderr: for logs and CI, no colour, no redraws."""

    def __init__(self, merchant: str, stream=None, **kw) -> None:
        super().__init__(merchant, **kw)
        self.stream = stream or sys.stderr

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def draw(self, ev: ev_.Event) -> None:
        t = self.tracker
        if isinstance(ev, ev_.Step) and ev.submits:
            self._line(f"sending order to {self.merchant}")
        elif isinstance(ev, ev_.CreatingCart):
            self._line(f"creating cart on {t.detail[names.CREATING_CART] or self.merchant}")
        elif isinstance(ev, ev_.ItemAdded):
            self._line(f"item added {t.detail[names.ITEM_ADDED]}")
        elif isinstance(ev, ev_.ShippingUpdated):
            self._line(f"shipping set: {t.detail[names.SHIPPING_UPDATED]}".rstrip(": "))
        elif isinstance(ev, ev_.OrderPlaced):
            self._line(f"order placed: {t.order_number}")

    def warn(self, message: str) -> None:
        self._line(f"warning: {message}")


def progress_for(
    merchant: str,
    *,
    quiet: bool,
    items: int = 0,
    sse: bool = True,
    target: str = "",
    console=None,
    stream=None,
) -> Progress:
    """The live display on ``console`` when it is a live terminal; else plain lines on
    ``stream`` (a console is made only for a terminal: a piped run needs no rich)."""
    kw = dict(items=items, sse=sse, target=target)
    if quiet:
        return Quiet(merchant, **kw)
    if console is not None and is_live(console):
        from cart_cli.cli.ui.live import LiveDisplay

        return LiveDisplay(merchant, console, **kw)
    return PlainLines(merchant, stream or (console.file if console is not None else None), **kw)


def strip_trailing(text: str) -> str:
    return "".join(line.rstrip() + "\n" for line in text.splitlines())


def order_total(order: dict) -> str:
    return fmt(to_cents(order.get("total")), currency_of(order.get("total")))


# ---- the cart (cart-cli cart ...) ---


def cart_view(cart: dict, merchant: str):
    """A rich renderable of a cart: its lines and totals, then its shipping once it is set."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from cart_cli.cli.ui.receipt import one_line_address

    cur = currency_of(cart.get("total"))
    shop = cart.get("display_name") or cart.get("shop_id") or merchant
    title = f"Cart on {shop} ({cart.get('shop_id') or merchant})"
    lines = Table(title=title, title_justify="left")
    lines.add_column("Item")
    lines.add_column("SKU")
    lines.add_column("Qty", justify="right")
    lines.add_column("Unit price", justify="right")
    lines.add_column("Line total", justify="right")
    items = [x for x in cart.get("line_items") or [] if isinstance(x, dict)]
    for line in items:
        lines.add_row(
            str(line.get("description", "")),
            str(line.get("sku", "")),
            str(line.get("quantity", "")),
            fmt(to_cents(line.get("price")), cur),
            fmt(to_cents(line.get("line_price")), cur),
        )
    if not items:
        lines.add_row(Text("(empty)", style="dim"), "", "", "", "")
    lines.add_section()
    for label, key in (
        ("Subtotal", "sub_total"),
        ("Shipping", "shipping_total"),
        ("Tax", "tax"),
        ("Discount", "cart_discount"),
        ("Total", "total"),
    ):
        lines.add_row(label, "", "", "", fmt(to_cents(cart.get(key)), cur))
    parts = [lines]
    if isinstance(cart.get("shipping_info"), dict):
        chosen = (cart.get("shipping_method") or {}).get("sku")
        methods = Table(title="Shipping methods", title_justify="left")
        methods.add_column("")
        methods.add_column("Method (SKU)")
        methods.add_column("Description")
        methods.add_column("Price", justify="right")
        for o in [x for x in cart.get("shipping_method_options") or [] if isinstance(x, dict)]:
            price = o.get("price")
            mark = "*" if o.get("sku") == chosen else ""
            methods.add_row(
                mark,
                str(o.get("sku", "")),
                str(o.get("description", "")),
                fmt(to_cents(price), cur),
            )
        parts.append(methods)
        parts.append(Text(f"Ship to: {one_line_address(cart['shipping_info'])}"))
    parts.append(Text(f"Cart id: {cart.get('cart_id', '?')}"))
    return Group(*parts)
