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


# The JWE plaintext (docs/api.md, "The encrypted card"): every value a string. The client builds
# it with ``payload``; the sandbox reads it back with ``check_payload``.
PAYLOAD_FIELDS = ("number", "name", "verification_value", "month", "year")


def payload(number: str, name: str, cvv: str, month: int, year: int) -> dict:
    return {
        "number": number,
        "name": name,
        "verification_value": cvv,
        "month": f"{month:02d}",
        "year": f"{year:04d}",
    }


def check_payload(card: object) -> dict:
    """The payload normalized (exp_month/exp_year read as month/year; name may be absent, as
    Firmly's own browser code sends it), or ValueError naming the problem, never a value."""
    if not isinstance(card, dict):
        raise ValueError("encrypted_card payload is not a JSON object")
    card = dict(card)
    for name in ("month", "year"):
        if name not in card and f"exp_{name}" in card:
            card[name] = card.pop(f"exp_{name}")
    for name in ("number", "verification_value", "month", "year"):
        if not isinstance(card.get(name), str) or not card[name]:
            raise ValueError(f"encrypted_card payload lacks {name!r}")
    if "name" in card and not isinstance(card["name"], str):
        raise ValueError("encrypted_card payload: name must be a string")
    month, year, cvv = card["month"], card["year"], card["verification_value"]
    # Firmly's v5 drop-in sends "MM/YY" split as typed: exp_month "8" or "08", exp_year "30".
    if not (len(month) in (1, 2) and month.isdigit() and 1 <= int(month) <= 12):
        raise ValueError("card month must be 1-12 (one or two digits)")
    if not (len(year) in (2, 4) and year.isdigit()):
        raise ValueError("card year must be two or four digits")
    card["month"] = f"{int(month):02d}"
    card["year"] = f"20{year}" if len(year) == 2 else year
    if not (cvv.isdigit() and 3 <= len(cvv) <= 4):
        raise ValueError("card verification_value must be 3 or 4 digits")
    if not luhn_ok(card["number"]):
        raise ValueError("card number fails the Luhn check")
    return card
