"""Progress of one order on stderr: the live display on a terminal, plain lines elsewhere, or
only warnings (--quiet). ``progress_for`` picks one; rich is loaded only for the live display."""

from __future__ import annotations

import sys

from cart_cli.cli.ui.console import is_live
from cart_cli.cli.ui.tracker import Progress
from cart_cli.core import events as ev_
from cart_cli.wire import names
from cart_cli.wire.text import safe


class PlainLines(Progress):
    """One plain line per stage on stderr: for logs and CI, no colour, no redraws."""

    def __init__(self, merchant: str, stream=None, **kw) -> None:
        super().__init__(merchant, **kw)
        self.stream = stream or sys.stderr

    def _line(self, text: str) -> None:
        print(safe(text), file=self.stream, flush=True)  # merchant, SKUs, methods: data

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


class Quiet(PlainLines):
    """--quiet: no progress, but warnings still (a --flow auto fallback, an unreadable event)."""

    def draw(self, ev: ev_.Event) -> None:
        pass


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
        return Quiet(merchant, stream or (console.file if console is not None else None), **kw)
    if console is not None and is_live(console):
        from cart_cli.cli.ui.live import LiveDisplay

        return LiveDisplay(merchant, console, **kw)
    return PlainLines(merchant, stream or (console.file if console is not None else None), **kw)
