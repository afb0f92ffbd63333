"""Placed orders as the listing (GET /__sandbox/orders) keeps them."""

from __future__ import annotations

from dataclasses import dataclass

from cart_cli.sandbox.payments import Payment


@dataclass(slots=True)
class PlacedOrder:
    number: str
    merchant: str
    cart_id: str
    items: list[dict]
    totals: dict
    payment: Payment
    submitted_at: str

    def record(self) -> dict:
        return {
            "order_number": self.number,
            "merchant": self.merchant,
            "cart_id": self.cart_id,
            "items": self.items,
            "totals": self.totals,
            "card_type": self.payment.card_type,
            "last_four": self.payment.last_four,
            "submitted_at": self.submitted_at,
        }
