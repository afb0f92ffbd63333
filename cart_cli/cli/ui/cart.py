"""The cart as ``cart-cli cart ...`` shows it: its lines and totals, then its shipping."""

from __future__ import annotations

from cart_cli.cli.ui.console import data_text
from cart_cli.cli.ui.receipt import one_line_address
from cart_cli.wire.money import currency_of, fmt, to_cents
from cart_cli.wire.text import safe


def cart_view(cart: dict, merchant: str):
    """A rich renderable of a cart: its lines and totals, then its shipping once it is set."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    cur = currency_of(cart.get("total"))
    shop = cart.get("display_name") or cart.get("shop_id") or merchant
    title = data_text(f"Cart on {shop} ({cart.get('shop_id') or merchant})")
    lines = Table(title=title, title_justify="left")
    lines.add_column("Item")
    lines.add_column("SKU")
    lines.add_column("Qty", justify="right")
    lines.add_column("Unit price", justify="right")
    lines.add_column("Line total", justify="right")
    items = [x for x in cart.get("line_items") or [] if isinstance(x, dict)]
    for line in items:
        lines.add_row(  # data as text: made safe, never markup
            *map(
                data_text,
                (
                    line.get("description", ""),
                    line.get("sku", ""),
                    line.get("quantity", ""),
                    fmt(to_cents(line.get("price")), cur),
                    fmt(to_cents(line.get("line_price")), cur),
                ),
            )
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
        lines.add_row(label, "", "", "", data_text(fmt(to_cents(cart.get(key)), cur)))
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
                *map(data_text, (o.get("sku", ""), o.get("description", ""))),
                data_text(fmt(to_cents(price), cur)),
            )
        parts.append(methods)
        parts.append(Text(f"Ship to: {one_line_address(cart['shipping_info'])}"))
    parts.append(Text(safe(f"Cart id: {cart.get('cart_id', '?')}")))
    return Group(*parts)


def product_view(product: dict):
    """A rich renderable of a product (as ``products show`` summarizes it): its variants, with
    the id an order's items use."""
    import json

    from rich.table import Table
    from rich.text import Text

    title = safe(f"{product.get('title') or product.get('handle')} ({product.get('handle')}) on ")
    title += safe(product.get("merchant"))
    if product.get("pdp_url"):
        title += "\n" + safe(product["pdp_url"])
    table = Table(title=Text(title), title_justify="left")  # text, never markup
    table.add_column("Variant id (variant_id)")
    table.add_column("Title")
    table.add_column("Price", justify="right")
    table.add_column("Availability")
    table.add_column("add_to_cart_ref")
    for v in product.get("variants") or []:
        available = {True: "in stock", False: "out of stock", None: "unknown"}[v.get("available")]
        ref = v.get("add_to_cart_ref")
        table.add_row(  # data as text: made safe, never markup
            data_text(v.get("id", "")),
            data_text(v.get("title", "")),
            data_text(fmt(v.get("price"), v.get("currency") or "USD")),
            Text(available, style="" if v.get("available") else "dim"),
            data_text(json.dumps(ref, separators=(",", ":")) if ref is not None else "-"),
        )
    if not product.get("variants"):
        table.add_row(Text("(no variants)", style="dim"), "", "", "", "")
    return table
