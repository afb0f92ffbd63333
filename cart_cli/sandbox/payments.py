"""What the sandbox keeps of a card (never the number or CVV) and how it judges it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cart_cli.wire import cards


@dataclass
class Payment:
    """What the sandbox keeps of a card: never the number or CVV."""

    card_type: str
    last_four: str
    month: int
    year: int
    decline: str | None
    holder: str | None = None
    bin: str = ""

    @classmethod
    def from_card(cls, card: dict, now: datetime) -> Payment:
        """``now``: the sandbox's clock (the run's: CART_CLI_NOW moves it), for the expiry."""
        number = card["number"]
        month, year = int(card["month"]), int(card["year"])
        test = cards.BY_NUMBER.get(number)
        decline = test.decline if test else None
        if decline is None and cards.expired(month, year, now.year, now.month):
            decline = "expired card"
        return cls(
            card_type=test.brand if test else cards.brand(number),
            last_four=number[-4:],
            month=month,
            year=year,
            decline=decline,
            holder=card.get("name") or None,
            bin=number[:6],
        )

    def summary(self) -> dict:
        """As real answers have it: with the holder's name and the BIN."""
        summary = {
            "payment_type": "CreditCard",
            "card_type": self.card_type,
            "last_four": self.last_four,
            "month": self.month,
            "year": self.year,
            "bin": self.bin,
        }
        if self.holder:
            summary["card_holder_name"] = self.holder
        return summary
