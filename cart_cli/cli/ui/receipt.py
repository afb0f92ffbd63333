"""The receipt of a placed order: what was bought, what it cost, where it went.

Nothing in it is ever cut: order numbers, SKUs, money and URLs wrap (or the layout stacks on a
narrow terminal) instead. Money is read with wire.money (integer cents), never float arithmetic,
and a real answer may leave things out (money with only currency and value, a payment summary
without payment_type): what is missing is left out, not guessed."""

from __future__ import annotations

import io
import re
from pathlib import Path

from cart_cli.cli.ui.console import data_text, one_under_another, strip_trailing
from cart_cli.core.errors import UsageError
from cart_cli.wire.money import currency_of, fmt, to_cents
from cart_cli.wire.text import safe

FORMATS = (".svg", ".html", ".htm", ".txt")
SAVE_WIDTH = 100
TOTALS = (
    ("Subtotal", "sub_total"),
    ("Shipping", "shipping_total"),
    ("Tax", "tax"),
    ("Discount", "cart_discount"),
)
COLUMNS = ("SKU", "Qty", "Each", "Amount")  # after "Item"; short names: the table fits 60 columns
# Below this the items table would squeeze its columns: one item per little block instead.
TABLE_MIN_ITEM = 12
FACT_LABEL = len("Thank-you page")


def _text(value) -> str:
    """Every value of the answer passes here: made safe for a terminal (wire.text.safe)."""
    return "" if value is None else safe(value)


def _money(cents: int | None, currency: str) -> str:
    return safe(fmt(cents, currency))  # a currency the table does not know is shown by its code


def one_line_address(a: dict) -> str:
    if not isinstance(a, dict):
        return ""
    name = " ".join(_text(x) for x in (a.get("first_name"), a.get("last_name")) if x)
    parts = [
        name,
        a.get("company"),
        a.get("address1"),
        a.get("address2"),
        a.get("city"),
        " ".join(
            _text(x)
            for x in (a.get("state_or_province") or a.get("state_name"), a.get("postal_code"))
            if x
        ),
        a.get("country"),
    ]
    return ", ".join(_text(p).strip() for p in parts if p and _text(p).strip())


def payment_text(pay: dict) -> str | None:
    if not isinstance(pay, dict) or not pay:
        return None
    card = pay.get("card_type") or pay.get("payment_type") or "Card"
    text = f"{card} ending {pay['last_four']}" if pay.get("last_four") else str(card)
    if pay.get("card_holder_name"):  # real answers carry it
        text += f", {pay['card_holder_name']}"
    month, year = pay.get("month"), pay.get("year")
    if month and year:
        text += f", expires {_text(month).zfill(2)}/{year}"
    return text


class Lines:
    """The order's lines with their money already formatted (cents inside)."""

    def __init__(self, order: dict) -> None:
        self.currency = currency_of(order.get("total"))
        self.rows = []
        for line in order.get("line_items") or []:
            if not isinstance(line, dict):
                continue
            qty = line.get("quantity")
            qty = qty if isinstance(qty, int) and not isinstance(qty, bool) else 0
            unit = to_cents(line.get("price"))
            total = to_cents(line.get("line_price"))
            if total is None and unit is not None:
                total = unit * qty
            self.rows.append(
                (
                    _text(line.get("description") or line.get("sku")),
                    _text(line.get("sku") or line.get("variant_id")),
                    str(qty),
                    _money(unit, self.currency),
                    _money(total, self.currency),
                )
            )
        self.totals = [
            (label, _money(to_cents(order.get(key)), currency_of(order.get(key), self.currency)))
            for label, key in TOTALS
            if order.get(key) is not None
        ]
        self.total = _money(to_cents(order.get("total")), self.currency)

    def table_width(self) -> int:
        """Columns a bordered table needs to show every SKU and amount whole."""
        from rich.cells import cell_len

        widths = [TABLE_MIN_ITEM, *(len(name) for name in COLUMNS)]
        for row in self.rows:
            for i in range(1, 5):
                widths[i] = max(widths[i], cell_len(row[i]))
        money = max([cell_len(m) for _, m in self.totals] + [cell_len(self.total), 0])
        widths[4] = max(widths[4], money)
        return sum(widths) + 3 * len(widths) + 1


def receipt(order: dict, merchant: str, *, target: str = "", request_id: str | None = None):
    """A rich renderable: a table on a wide console, stacked blocks on a narrow one. (rich is
    loaded when it is drawn, not here: a piped receipt may never be.)"""
    lines = Lines(order)
    facts = _facts(order, merchant, target, request_id)

    class Receipt:
        def __rich_console__(self, console, options):
            narrow = options.max_width < lines.table_width()
            items = _stacked(lines) if narrow else _table(lines)
            # an address wraps at its spaces; an id or a URL would be broken: give it room
            longest = max((len(word) for _, value in facts for word in value.split()), default=0)
            stacked = options.max_width < FACT_LABEL + 2 + longest
            yield one_under_another(_title(order), items, _fact_table(facts, stacked=stacked))

        def __rich_measure__(self, console, options):
            from rich.measure import Measurement

            return Measurement(1, options.max_width)

    return Receipt()


def _one_column_each(text: str) -> bool:
    """Every character of ``text`` takes one column, as rich counts them (Latin-1's printable
    ones, and narrow characters that combine with nothing); else rich measures it."""
    import unicodedata

    return text.isprintable() and all(
        ord(c) < 0x300
        or (unicodedata.east_asian_width(c) in ("N", "Na", "H") and not unicodedata.combining(c))
        for c in text
        if not c.isascii()
    )


def plain_receipt(
    order: dict, merchant: str, *, target: str = "", request_id: str | None = None, width: int
) -> str | None:
    """The receipt exactly as rich draws it on a pipe ``width`` columns wide (no styles, no
    trailing spaces), without loading rich: for the usual receipt, every character one column
    wide and the table and facts at their natural widths within ``width``. None otherwise:
    rich draws it (tests/test_render.py compares the two)."""
    lines = Lines(order)
    facts = _facts(order, merchant, target, request_id)
    title = "Order " + _text(order.get("platform_order_number") or "?")
    texts = [title, *(c for row in lines.rows for c in row), lines.total]
    texts += [x for pair in [*lines.totals, *facts] for x in pair]
    if not all(map(_one_column_each, texts)) or len(title) > width:
        return None
    widths = [max(TABLE_MIN_ITEM, len("Item")), *(len(name) for name in COLUMNS)]
    for row in [*lines.rows, *((label, "", "", "", m) for label, m in lines.totals)]:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    widths[0], widths[4] = max(widths[0], len("Total")), max(widths[4], len(lines.total))
    if sum(widths) + 3 * len(widths) + 1 > width:
        return None
    longest = max((len(word) for _, value in facts for word in value.split()), default=0)
    label_w = max((len(label) for label, _ in facts), default=0)
    if width < FACT_LABEL + 2 + longest or any(label_w + 2 + len(v) > width for _, v in facts):
        return None
    right = (False, False, True, True, True)

    def row(cells, bar: str) -> str:
        shown = (
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)
        )
        return bar + bar.join(f" {c} " for c in shown) + bar

    def rule(left: str, line: str, cross: str, end: str) -> str:
        return left + cross.join(line * (w + 2) for w in widths) + end

    out = [title, rule("┏", "━", "┳", "┓"), row(("Item", *COLUMNS), "┃")]
    out.append(rule("┡", "━", "╇", "┩"))
    out += [row(r, "│") for r in lines.rows]
    if lines.rows:
        out.append(rule("├", "─", "┼", "┤"))
    out += [row((label, "", "", "", m), "│") for label, m in lines.totals]
    out += [row(("Total", "", "", "", lines.total), "│"), rule("└", "─", "┴", "┘")]
    out += [f"{label.ljust(label_w)}  {value}" for label, value in facts]
    return "".join(line.rstrip() + "\n" for line in out)


def _title(order: dict):
    from rich.text import Text

    return Text.assemble(
        ("Order ", "bold"), (_text(order.get("platform_order_number") or "?"), "bold")
    )


def _table(lines: Lines):
    from rich.table import Table
    from rich.text import Text

    items = Table()
    items.add_column("Item", overflow="fold", min_width=TABLE_MIN_ITEM)
    items.add_column("SKU", no_wrap=True)
    for name in COLUMNS[1:]:
        items.add_column(name, justify="right", no_wrap=True)
    for row in lines.rows:
        items.add_row(*map(data_text, row))  # as text: "[red]" in a name is not markup
    items.add_section()
    for label, money in lines.totals:
        items.add_row(label, "", "", "", data_text(money))
    items.add_row(Text("Total", style="bold"), "", "", "", Text(lines.total, style="bold"))
    return items


def _stacked(lines: Lines):
    """One block per item: its name, then its SKU, then quantity, unit price and line total."""
    from rich.rule import Rule
    from rich.table import Table
    from rich.text import Text

    blocks = [Rule(style="dim")]
    for name, sku, qty, unit, total in lines.rows:
        blocks.append(Text(name, style="bold", overflow="fold"))
        blocks.append(Text.assemble(("  SKU ", "dim"), sku, overflow="fold"))
        row = Table.grid(expand=True)
        row.add_column(overflow="fold")
        row.add_column(justify="right", no_wrap=True)
        row.add_row(data_text(f"  {qty} × {unit}"), data_text(total))
        blocks.append(row)
    blocks.append(Rule(style="dim"))
    sums = Table.grid(expand=True)
    sums.add_column()
    sums.add_column(justify="right", no_wrap=True)
    for label, money in lines.totals:
        sums.add_row(label, data_text(money))
    sums.add_row(Text("Total", style="bold"), Text(lines.total, style="bold"))
    blocks.append(sums)
    return one_under_another(*blocks)


def _facts(order: dict, merchant: str, target: str, request_id: str | None) -> list:
    shop = order.get("shop_id") or merchant
    name = order.get("display_name")
    platform = order.get("platform_id")
    where = ", ".join(_text(x) for x in (shop, platform) if x)
    method = order.get("shipping_method") or {}
    method = method if isinstance(method, dict) else {}
    shipping = _text(method.get("description"))
    if method.get("price") is not None:
        price = method["price"]
        shipping = f"{shipping} ({_money(to_cents(price), currency_of(price))})".strip()
    ship_to = one_line_address(order.get("shipping_info") or {})
    bill_to = one_line_address(order.get("billing_info") or {})
    rows = [
        ("Order number", order.get("platform_order_number")),
        ("Cart id", order.get("cart_id")),
        ("Merchant", f"{name} ({where})" if name and where else (name or where)),
        ("Submitted at", order.get("submitted_at")),
        ("Payment", payment_text(order.get("payment_summary") or {})),
        ("Ship to", ship_to),
        ("Bill to", bill_to if bill_to and bill_to != ship_to else None),
        ("Shipping", shipping),
        ("Sent to", target),
        ("Request id", request_id),
        ("Thank-you page", (order.get("urls") or {}).get("thank_you_page")),
    ]
    return [(label, _text(value)) for label, value in rows if value]


def _fact_table(facts: list, *, stacked: bool):
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    if stacked:  # label above value: a long URL keeps the whole width
        return one_under_another(
            *(
                part
                for label, value in facts
                for part in (
                    Text(label, style="bold"),
                    Padding(Text(value, overflow="fold"), (0, 0, 0, 2)),
                )
            )
        )
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for label, value in facts:
        grid.add_row(label, data_text(value))
    return grid


# ---- saving it ---


def check_receipt_path(path: Path, stdout_stat=None):
    """Before any order is sent: a format we can write, at a path we can write (core.outputs:
    a link is followed, a device or FIFO written in place, ``-`` is standard output, as text).
    Returns the planned output."""
    from cart_cli.core import outputs

    out = outputs.plan("--receipt", path, stdout_stat=stdout_stat)
    if not out.is_stdout and Path(path).suffix.lower() not in FORMATS:
        raise UsageError(
            f"--receipt {path}: the file name must end in {', '.join(FORMATS)} "
            "(the format follows the name), or be - for text on standard output"
        )
    return out


def title_of(order: dict, merchant: str) -> str:
    """What a saved receipt is called (an HTML page's <title>, an SVG's heading)."""
    number = order.get("platform_order_number") if isinstance(order, dict) else None
    return f"cart-cli receipt: order {number or '(no number)'} at {merchant}"


# rich's SVG loads its font from a CDN when opened: a receipt holds a customer's address, and
# opening it must not tell a third party. Local fonts only; no link to anything.
_FONT_FACE = re.compile(r"\s*@font-face \{\{.*?\}\}", re.S)
_GENERATED = re.compile(r"\s*<!-- Generated with Rich [^>]*-->")
LOCAL_MONOSPACE = "'Fira Code', Menlo, 'DejaVu Sans Mono', Consolas, 'Liberation Mono', monospace"

HTML_FORMAT = """\
<!DOCTYPE html>
<html>
<head>
<meta charset="UTF-8">
<title>{title}</title>
<style>
{{stylesheet}}
body {{{{
    color: {{foreground}};
    background-color: {{background}};
}}}}
</style>
</head>
<body>
    <pre style="font-family:Menlo,'DejaVu Sans Mono',consolas,'Courier New',monospace"><code style="font-family:inherit">{{code}}</code></pre>
</body>
</html>
"""  # noqa: E501 - rich's own page, with a title


def svg_format() -> str:
    """rich's SVG template with no web font and no URL in it."""
    from rich._export_format import CONSOLE_SVG_FORMAT

    text = _GENERATED.sub("", _FONT_FACE.sub("", CONSOLE_SVG_FORMAT))
    return text.replace("font-family: Fira Code, monospace;", f"font-family: {LOCAL_MONOSPACE};")


def receipt_document(renderable, kind: str, *, title: str, width: int = SAVE_WIDTH) -> str:
    """The receipt as a document: ``kind`` .svg, .html/.htm or .txt, drawn at a fixed width."""
    import html

    from cart_cli.cli.ui.console import safe_console_class

    console = safe_console_class()(
        record=True, file=io.StringIO(), width=width, color_system="truecolor", highlight=False
    )
    console.print(renderable)
    if kind == ".svg":
        return console.export_svg(title=title, code_format=svg_format())
    if kind in (".html", ".htm"):
        escaped = html.escape(title).replace("{", "{{").replace("}", "}}")
        return console.export_html(code_format=HTML_FORMAT.format(title=escaped))
    return strip_trailing(console.export_text())


def save_receipt(renderable, out, *, title: str, stdout=None, width: int = SAVE_WIDTH) -> None:
    """Write the receipt where ``out`` (from check_receipt_path) says, in the format its name
    ends with (text on standard output). Raises OSError when it cannot."""
    from cart_cli.core import outputs

    kind = ".txt" if out.is_stdout else Path(out.path).suffix.lower()
    doc = receipt_document(renderable, kind, title=title, width=width)
    outputs.write(out, doc.encode("utf-8"), stdout=stdout)  # 0600: it holds addresses
