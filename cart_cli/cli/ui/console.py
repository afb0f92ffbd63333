"""Consoles and the small pieces every renderer uses: rich is imported only by what draws, so
a piped run that prints plain lines never loads it."""

from __future__ import annotations

from cart_cli.wire.money import currency_of, fmt, to_cents
from cart_cli.wire.text import safe

PIPED_WIDTH = 200


def safe_console_class():
    """rich's Console, with every str it turns into text made safe first (wire.text.safe)."""
    from rich.console import Console

    class SafeConsole(Console):
        """Every str rich turns into text (printed, a table cell, a title) is made safe first,
        wherever it came from: a control character in data never reaches the terminal.
        Renderers still give data as Text (``data_text``, never markup); this is the net under
        them."""

        def render_str(self, text: str, **kw):
            return super().render_str(safe(text, lines=True), **kw)

    return SafeConsole


def make_console(file, is_terminal: bool, environ, *, piped_width: bool = False):
    """A console on ``file``, reading NO_COLOR, TERM, COLUMNS from ``environ`` (not the process).
    ``piped_width``: a table piped elsewhere is not cut to 80 columns unless COLUMNS says so."""
    width = None
    if piped_width and not is_terminal and "COLUMNS" not in environ:
        width = PIPED_WIDTH
    return safe_console_class()(
        file=file,
        highlight=False,
        emoji=False,  # ":smile:" in a product name stays as written
        soft_wrap=not piped_width,
        width=width,
        force_terminal=is_terminal or None,
        _environ=dict(environ),
    )


# What makes rich draw a piped table other than as plain text of its width: colour forced on,
# or told it is a terminal, or a notebook.
STYLED_WHEN = (
    "FORCE_COLOR",
    "TTY_COMPATIBLE",
    "TTY_INTERACTIVE",
    "JUPYTER_COLUMNS",
    "JPY_PARENT_PID",
)


def plain_width(is_terminal: bool, environ) -> int | None:
    """The width rich would draw a table at on this stream, when it would draw it as plain text
    (piped, no colour forced: make_console with piped_width); None when only rich can say."""
    if is_terminal or any(environ.get(name) for name in STYLED_WHEN):
        return None
    columns = environ.get("COLUMNS")
    if columns is None:
        return PIPED_WIDTH
    return int(columns) if columns.isdigit() and int(columns) > 0 else None


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


def data_text(value):
    """A rich Text of a value from data: made safe (wire.text.safe), and never read as markup
    (a plain str in a table cell or title would be: "[red]" would colour it)."""
    from rich.text import Text

    return Text("" if value is None else safe(value))


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


def strip_trailing(text: str) -> str:
    return "".join(line.rstrip() + "\n" for line in text.splitlines())


def order_total(order: dict) -> str:
    return fmt(to_cents(order.get("total")), currency_of(order.get("total")))
