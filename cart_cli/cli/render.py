"""Renderers: progress (live rich display, plain lines, nothing) on stderr; receipt on stdout."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

from cart_cli.core import events as ev_
from cart_cli.wire import names
from cart_cli.wire.money import currency_of, fmt, to_cents

if TYPE_CHECKING:  # rich loads only where something is drawn: not for --json or plain lines
    from rich.console import Console

PIPED_WIDTH = 200
STEP_TEXT = {
    ev_.SESSION: "session",
    ev_.KEY: "public key",
    ev_.ENCRYPT: "encrypting card",
    ev_.SUBMIT: "sending order",
}
STAGES = (
    ("prepare", "Preparing (session, key, card)"),
    (names.CREATING_CART, "Creating cart"),
    (names.ITEM_ADDED, "Adding items"),
    (names.SHIPPING_UPDATED, "Setting shipping"),
    (names.ORDER_PLACED, "Placing order"),
)


def make_console(file, is_terminal: bool, environ, *, piped_width: bool = False) -> Console:
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


def is_live(console: Console) -> bool:
    return console.is_terminal and not console.is_dumb_terminal


class Progress:
    """Base renderer: tracks stage state from core events; subclasses draw it."""

    def __init__(self, merchant: str) -> None:
        self.merchant = merchant
        self.state = {key: "pending" for key, _ in STAGES}
        self.detail = {key: "" for key, _ in STAGES}
        self.started = {key: 0.0 for key, _ in STAGES}
        self.ended = {key: 0.0 for key, _ in STAGES}
        self.current: str | None = None

    def _enter(self, key: str) -> None:
        now = time.monotonic()
        if self.current and self.current != key:
            self.state[self.current] = "done"
            self.ended[self.current] = now
        if self.state[key] != "active":
            self.started[key] = now
        self.state[key] = "active"
        self.current = key

    def __call__(self, ev: ev_.Event) -> None:
        if isinstance(ev, ev_.Step) and ev.submits and self.current == names.ORDER_PLACED:
            pass  # the cart flow: the cart is built, and complete-order leaves now
        elif isinstance(ev, ev_.Step):
            self._enter("prepare")
            self.detail["prepare"] = STEP_TEXT.get(ev.name, ev.name)
            if ev.submits:
                self._enter(names.CREATING_CART)
        elif isinstance(ev, ev_.CreatingCart):
            self._enter(names.CREATING_CART)
            self.detail[names.CREATING_CART] = ev.domain or self.merchant
        elif isinstance(ev, ev_.ItemAdded):
            self._enter(names.ITEM_ADDED)
            total = f"/{ev.total}" if ev.total else ""
            line = (ev.cart.get("line_items") or [{}])[-1]
            self.detail[names.ITEM_ADDED] = f"{ev.index}{total} {line.get('sku', '')}".strip()
            if ev.total and ev.index >= ev.total:
                self._enter(names.SHIPPING_UPDATED)  # all items in: shipping is under way
        elif isinstance(ev, ev_.ShippingUpdated):
            self._enter(names.SHIPPING_UPDATED)
            method = ev.cart.get("shipping_method") or {}
            price = to_cents(method.get("price"))
            self.detail[names.SHIPPING_UPDATED] = (
                f"{method.get('description', '')} {fmt(price, currency_of(method.get('price')))}"
                if method
                else ""
            )
            self._enter(names.ORDER_PLACED)
        elif isinstance(ev, ev_.OrderPlaced):
            self._enter(names.ORDER_PLACED)
            self.detail[names.ORDER_PLACED] = str(ev.order.get("platform_order_number", ""))
            self.finish(True)
        elif isinstance(ev, ev_.Garbled):
            self.warn(f"skipped an unreadable {ev.event} event ({ev.reason})")
        self.draw(ev)

    def finish(self, ok: bool) -> None:
        if self.current:
            self.state[self.current] = "done" if ok else "failed"
            self.ended[self.current] = time.monotonic()
            self.current = None

    def draw(self, ev) -> None:
        pass

    def warn(self, message: str) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *rest) -> None:
        if self.current:
            self.finish(exc_type is None)
        self.close()

    def close(self) -> None:
        pass


class Quiet(Progress):
    pass


class PlainLines(Progress):
    """One plain line per stage on stderr: for logs and CI, no colour, no redraws."""

    def __init__(self, merchant: str, stream=None) -> None:
        super().__init__(merchant)
        self.stream = stream or sys.stderr

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def draw(self, ev: ev_.Event) -> None:
        if isinstance(ev, ev_.Step) and ev.submits:
            self._line(f"sending order to {self.merchant}")
        elif isinstance(ev, ev_.CreatingCart):
            self._line(f"creating cart on {self.detail[names.CREATING_CART]}")
        elif isinstance(ev, ev_.ItemAdded):
            self._line(f"item added {self.detail[names.ITEM_ADDED]}")
        elif isinstance(ev, ev_.ShippingUpdated):
            self._line(f"shipping set: {self.detail[names.SHIPPING_UPDATED]}".rstrip(": "))
        elif isinstance(ev, ev_.OrderPlaced):
            self._line(f"order placed: {self.detail[names.ORDER_PLACED]}")

    def warn(self, message: str) -> None:
        self._line(f"warning: {message}")


class LiveDisplay(Progress):
    """The four stages with a spinner and elapsed time, redrawn in place (terminals only)."""

    def __init__(self, merchant: str, console: Console) -> None:
        super().__init__(merchant)
        from rich.live import Live

        self.console = console
        self.live = Live(
            console=console, refresh_per_second=12, transient=False, get_renderable=self.render
        )
        self.live.start()

    def render(self):
        from rich.console import Group
        from rich.spinner import Spinner
        from rich.table import Table
        from rich.text import Text

        table = Table.grid(padding=(0, 1))
        table.add_column(width=2)
        table.add_column()
        table.add_column(style="dim")
        table.add_column(justify="right", style="dim")
        now = time.monotonic()
        for key, label in STAGES:
            state = self.state[key]
            mark = {
                "pending": Text("·", style="dim"),
                "done": Text("✓", style="green"),
                "failed": Text("✗", style="red"),
            }.get(state)
            icon = Spinner("dots", style="cyan") if state == "active" else mark
            elapsed = ""
            if state != "pending":
                end = self.ended[key] if state != "active" else now
                elapsed = f"{end - self.started[key]:.1f}s"
            style = "bold" if state == "active" else ("dim" if state == "pending" else "")
            table.add_row(icon, Text(label, style=style), self.detail[key], elapsed)
        return Group(Text(f"Placing order on {self.merchant}", style="bold"), table)

    def warn(self, message: str) -> None:
        self.console.print(f"[yellow]warning:[/] {message}")

    def close(self) -> None:
        self.live.refresh()
        self.live.stop()


def progress_for(merchant: str, *, quiet: bool, console: Console | None, stream=None) -> Progress:
    """``console`` None: stderr is no terminal, so plain lines on ``stream`` (no rich loaded)."""
    if quiet:
        return Quiet(merchant)
    if console is None:
        return PlainLines(merchant, stream)
    if is_live(console):
        return LiveDisplay(merchant, console)
    return PlainLines(merchant, console.file)


# ---- the receipt ---


def _one_line_address(a: dict) -> str:
    name = " ".join(x for x in (a.get("first_name"), a.get("last_name")) if x)
    parts = [
        name,
        a.get("company"),
        a.get("address1"),
        a.get("address2"),
        a.get("city"),
        " ".join(
            x
            for x in (a.get("state_or_province") or a.get("state_name"), a.get("postal_code"))
            if x
        ),
        a.get("country"),
    ]
    return ", ".join(str(p) for p in parts if p)


def _payment(pay: dict) -> str | None:
    """'Visa ending 1111, Ada Lovelace': real answers may lack payment_type and add the holder."""
    if not pay:
        return None
    text = f"{pay.get('card_type') or 'Card'} ending {pay.get('last_four') or '????'}"
    holder = pay.get("card_holder_name")
    return f"{text}, {holder}" if holder else text


def receipt(order: dict, merchant: str):
    """A rich renderable of the order: items table, totals, and the order's facts."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    cur = currency_of(order.get("total"))
    items = Table(title=f"Order {order.get('platform_order_number', '?')}", title_justify="left")
    items.add_column("Item")
    items.add_column("SKU")
    items.add_column("Qty", justify="right")
    items.add_column("Unit price", justify="right")
    items.add_column("Line total", justify="right")
    for line in order.get("line_items") or []:
        qty = line.get("quantity") if isinstance(line.get("quantity"), int) else 0
        unit = to_cents(line.get("price"))
        total = to_cents(line.get("line_price"))
        if total is None and unit is not None:
            total = unit * qty
        items.add_row(
            str(line.get("description", "")),
            str(line.get("sku", "")),
            str(qty),
            fmt(unit, cur),
            fmt(total, cur),
        )
    items.add_section()
    for label, key in (
        ("Subtotal", "sub_total"),
        ("Shipping", "shipping_total"),
        ("Tax", "tax"),
        ("Discount", "cart_discount"),
    ):
        items.add_row(label, "", "", "", fmt(to_cents(order.get(key)), cur))
    items.add_row(
        Text("Total", style="bold"),
        "",
        "",
        "",
        Text(fmt(to_cents(order.get("total")), cur), style="bold"),
    )

    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    pay = order.get("payment_summary") or {}
    shop = order.get("shop_id") or merchant
    rows = [
        ("Order number", order.get("platform_order_number")),
        ("Cart id", order.get("cart_id")),
        (
            "Merchant",
            f"{order.get('display_name', shop)} ({shop}, {order.get('platform_id', '?')})",
        ),
        ("Submitted at", order.get("submitted_at")),
        ("Payment", _payment(pay)),
        ("Ship to", _one_line_address(order.get("shipping_info") or {}) or None),
        ("Shipping", (order.get("shipping_method") or {}).get("description")),
        ("Thank-you page", (order.get("urls") or {}).get("thank_you_page")),
    ]
    for label, value in rows:
        if value:
            facts.add_row(label, str(value))
    return Group(items, facts)


def order_total(order: dict) -> str:
    return fmt(to_cents(order.get("total")), currency_of(order.get("total")))


# ---- the cart (cart-cli cart ...) ---


def cart_view(cart: dict, merchant: str):
    """A rich renderable of a cart: its lines and totals, then its shipping once it is set."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

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
        parts.append(Text(f"Ship to: {_one_line_address(cart['shipping_info'])}"))
    parts.append(Text(f"Cart id: {cart.get('cart_id', '?')}"))
    return Group(*parts)
