"""Carts and their pricing: lines, shipping options, tax, and the cart view answers carry.
Money is integer cents throughout."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from cart_cli.sandbox.catalog import Merchant
from cart_cli.wire.money import mul_rate_half_up, to_wire

TAX_RATES = {"WA": Decimal("0.1025"), "CA": Decimal("0.0725"), "NY": Decimal("0.08875")}
STATE_NAMES = {"washington": "WA", "california": "CA", "new york": "NY"}
STATE_OF_CODE = {code: name.title() for name, code in STATE_NAMES.items()}
FLAT_RATE = ("flatrate_flatrate", "Flat Rate (5-7 days)", 500)
FREE_SHIPPING = ("freeshipping_freeshipping", "Free Shipping", 0)
FREE_SHIPPING_FROM = 10_000


def with_state_name(address: dict) -> dict:
    """An address as order answers carry it: with ``state_name`` when the state is known."""
    state = str(address.get("state_or_province", "")).strip()
    code = STATE_NAMES.get(state.lower(), state.upper())
    name = STATE_OF_CODE.get(code)
    return {**address, "state_name": name} if name else dict(address)


@dataclass
class Cart:
    merchant: Merchant
    cart_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    lines: dict[str, int] = field(default_factory=dict)  # sku -> quantity, in order added
    shipping_info: dict | None = None
    shipping_method: str | None = None
    line_ids: dict[str, str] = field(default_factory=dict)  # sku -> its line id, made once
    used: float = 0.0  # when a call last used it (State.clock), for eviction

    def sub_total(self) -> int:
        return sum(self.merchant.products[s].price * q for s, q in self.lines.items())

    def shipping_options(self, sub_total: int | None = None) -> list[tuple[str, str, int]]:
        if self.shipping_info is None:
            return []
        opts = [FLAT_RATE]
        if (self.sub_total() if sub_total is None else sub_total) >= FREE_SHIPPING_FROM:
            opts.append(FREE_SHIPPING)
        return opts

    def line_id(self, sku: str) -> str:
        line_id = self.line_ids.get(sku)
        if line_id is None:
            line_id = self.line_ids[sku] = f"{self.cart_id}-{len(self.line_ids) + 1}"
        return line_id

    def choose_cheapest_if_needed(self) -> None:
        opts = self.shipping_options()
        if opts and self.shipping_method not in {o[0] for o in opts}:
            self.shipping_method = min(opts, key=lambda o: o[2])[0]

    def shipping_total(self, options: list[tuple[str, str, int]] | None = None) -> int:
        for sku, _, price in self.shipping_options() if options is None else options:
            if sku == self.shipping_method:
                return price
        return 0

    def tax(self, sub_total: int | None = None) -> int:
        if not self.shipping_info:
            return 0
        state = str(self.shipping_info.get("state_or_province", "")).strip()
        code = STATE_NAMES.get(state.lower(), state.upper())
        rate = TAX_RATES.get(code)
        if not rate:
            return 0
        return mul_rate_half_up(self.sub_total() if sub_total is None else sub_total, rate)

    def view(self, status: str = "active") -> dict:
        m, cur = self.merchant, self.merchant.currency
        sub = self.sub_total()
        opts = self.shipping_options(sub)
        ship, tax, discount = self.shipping_total(opts), self.tax(sub), 0
        lines = []
        for sku, qty in self.lines.items():
            p = m.products[sku]
            lines.append(
                {
                    "line_item_id": self.line_id(sku),
                    "sku": sku,
                    "base_sku": sku.split("-")[0],
                    "description": p.description,
                    "quantity": qty,
                    "price": to_wire(p.price, cur),
                    "line_price": to_wire(p.price * qty, cur),
                    "image": {"url": f"https://{m.domain}/media/catalog/{sku}.jpg"},
                    "variant_handles": [],  # the drop-ins send them back when they PUT a line
                }
            )
        view = {
            "cart_id": self.cart_id,
            "cart_status": status,
            "display_name": m.display_name,
            "platform_id": m.platform_id,
            "shop_id": m.domain,
            "line_items": lines,
            "sub_total": to_wire(sub, cur),
            "shipping_total": to_wire(ship, cur),
            "tax": to_wire(tax, cur),
            "cart_discount": to_wire(discount, cur),
            "total": to_wire(sub + ship + tax - discount, cur),
            "payment_method_options": [{"type": "CreditCard", "wallet": "user"}],
            "shop_properties": m.shop_properties,
        }
        if self.shipping_info is not None:
            view["shipping_info"] = self.shipping_info
            view["shipping_method"] = next(
                (
                    {"sku": s, "description": d, "price": to_wire(p, cur)}
                    for s, d, p in opts
                    if s == self.shipping_method
                ),
                None,
            )
            view["shipping_method_options"] = [
                {"sku": s, "description": d, "price": to_wire(p, cur)} for s, d, p in opts
            ]
        return view

    def shipment_id(self) -> str:
        return f"{self.cart_id}-shipment-1"

    def view_v2(self) -> dict:
        """The Cart v2 answer (docs/api.md, "Cart v2"): the v1 view, and its one shipment (all
        lines) with the methods offered, each with an ``id`` (the method's sku)."""
        view = self.view()
        shipment = {
            "shipment_id": self.shipment_id(),
            "line_item_ids": [line["line_item_id"] for line in view["line_items"]],
            "shipping_method": None,
            "shipping_method_options": [],
        }
        for option in view.get("shipping_method_options", []):
            shipment["shipping_method_options"].append({"id": option["sku"], **option})
        chosen = view.get("shipping_method")
        if chosen:
            shipment["shipping_method"] = {"id": chosen["sku"], **chosen}
        view["shipments"] = [shipment] if self.lines else []
        return view
