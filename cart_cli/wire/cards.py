"""Card facts shared by the client (validation, test aliases) and the sandbox (test cards)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TestCard:
    alias: str
    number: str
    brand: str
    decline: str | None  # None: approved; else the decline reason


TEST_CARDS = (
    TestCard("visa", "4111111111111111", "Visa", None),
    TestCard("mastercard", "5555555555554444", "Mastercard", None),
    TestCard("amex", "378282246310005", "American Express", None),
    TestCard("declined", "4000000000000002", "Visa", "card declined"),
    TestCard("insufficient-funds", "4000000000009995", "Visa", "insufficient funds"),
    TestCard("expired", "4000000000000069", "Visa", "expired card"),
)
BY_ALIAS = {c.alias: c for c in TEST_CARDS}
BY_NUMBER = {c.number: c for c in TEST_CARDS}
ALIAS_PREFIX = "test:"


def luhn_ok(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def brand(number: str) -> str:
    if number.startswith("4"):
        return "Visa"
    if number[:2] in {"34", "37"}:
        return "American Express"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "Mastercard"
    if number.startswith(("6011", "65")):
        return "Discover"
    return "Card"


def expired(month: int, year: int, today_year: int, today_month: int) -> bool:
    """A card is good through the last day of its expiry month."""
    return (year, month) < (today_year, today_month)
