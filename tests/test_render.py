"""What a person sees on a terminal: the live display and the receipt."""

from __future__ import annotations

import io

from rich.console import Console

from cart_cli.cli.render import LiveDisplay, PlainLines, progress_for, receipt
from cart_cli.core.events import (
    CreatingCart,
    Garbled,
    ItemAdded,
    OrderPlaced,
    ShippingUpdated,
    Step,
)


def cart(n):
    return {
        "line_items": [{"sku": f"SKU-{i}"} for i in range(n)],
        "shipping_method": {
            "description": "Flat Rate",
            "price": {"number": 500, "currency": "USD"},
        },
    }


def test_live_display_shows_the_four_stages_with_item_progress():
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=100, color_system=None)
    with LiveDisplay("staging.luma.gift", console) as live:
        live(Step("session"))
        live(Step("submit"))
        live(CreatingCart("staging.luma.gift"))
        live(ItemAdded(cart(1), 1, 3))
        live(ItemAdded(cart(2), 2, 3))
        snapshot = Console(file=io.StringIO(), width=100, color_system=None)
        snapshot.print(live.render())
        text = snapshot.file.getvalue()
        assert "Adding items" in text and "2/3 SKU-1" in text
        live(ItemAdded(cart(3), 3, 3))
        live(ShippingUpdated(cart(3)))
        live(OrderPlaced({"platform_order_number": "000000042"}))
    final = buf.getvalue()
    for label in (
        "Creating cart",
        "Adding items",
        "Setting shipping",
        "Placing order",
        "000000042",
        "Flat Rate $5.00",
    ):
        assert label in final
    assert live.state == dict.fromkeys(live.state, "done")


def test_live_display_marks_the_failing_stage():
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    live = LiveDisplay("m.test", console)
    try:
        with live:
            live(Step("submit"))
            live(CreatingCart("m.test"))
            raise RuntimeError
    except RuntimeError:
        pass
    assert live.state["creating-cart"] == "failed"


def test_progress_choice_follows_the_terminal():
    assert isinstance(
        progress_for("m", quiet=False, console=Console(file=io.StringIO())), PlainLines
    )
    live = progress_for("m", quiet=False, console=Console(file=io.StringIO(), force_terminal=True))
    live.close()
    assert isinstance(live, LiveDisplay)


def test_plain_lines_warn_about_garbled_events():
    buf = io.StringIO()
    p = PlainLines("m", buf)
    p(Garbled("item-added", "data is not a JSON object"))
    assert (
        buf.getvalue()
        == "warning: skipped an unreadable item-added event (data is not a JSON object)\n"
    )


def test_receipt_money_is_exact_and_tolerates_value_only_money():
    order = {
        "platform_order_number": "1",
        "line_items": [
            {
                "description": "Thing",
                "sku": "T",
                "quantity": 3,
                "price": {"currency": "USD", "value": 19.99},
            }
        ],
        "sub_total": {"currency": "USD", "value": 59.97},
        "total": {"currency": "USD", "value": 59.97},
    }
    out = Console(file=io.StringIO(), width=120, color_system=None)
    out.print(receipt(order, "m.test"))
    text = out.file.getvalue()
    assert "$19.99" in text and text.count("$59.97") == 3  # line total computed in cents
