"""Card facts shared by the client (validation, test aliases) and the sandbox (test cards).

The card's rules are here once: the order loader, the card prompt and the sandbox read a number,
CVV, month, year and expiry with these functions. Digits are ASCII 0-9 only (fullwidth or
Arabic-Indic digits are refused, never converted). Messages say what is expected, never what
was given: a value may be a card number."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from cart_cli.wire.text import is_digits


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
    if not is_digits(number) or not 12 <= len(number) <= 19:
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


# ---- reading a card as a person writes it (order file, card file, the prompt) ---

NUMBER_SEPARATORS = re.compile(r"[ -]")  # "4111 1111 1111 1111", "4111-1111-..."


def _text(value: object) -> object:
    """YAML reads ``cvv: 123`` as an int: the digits it was written with (never a bool)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def read_number(value: object) -> str:
    """The card number as ASCII digits (spaces and dashes between groups dropped), 12 to 19 of
    them, passing the Luhn check; else ValueError."""
    value = _text(value)
    if not isinstance(value, str):
        raise ValueError("card number must be a string of digits")
    digits = NUMBER_SEPARATORS.sub("", value.strip())
    if not is_digits(digits) or not 12 <= len(digits) <= 19:
        raise ValueError("card number must be 12 to 19 digits (0-9)")
    if not luhn_ok(digits):
        raise ValueError("card number fails the Luhn check (a typo?)")
    return digits


NAME_MAX = 200  # as an order's other names (core/order.py Text)


def read_name(value: object) -> str:
    """The name on the card, spaces around it dropped: 1 to NAME_MAX characters; else
    ValueError."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ValueError("the name on the card is required, as printed on it (e.g. Ada Lovelace)")
    if len(text) > NAME_MAX:
        raise ValueError(f"the name on the card is at most {NAME_MAX} characters")
    return text


def read_cvv(value: object) -> str:
    value = _text(value)
    text = value.strip() if isinstance(value, str) else ""
    if not (is_digits(text) and 3 <= len(text) <= 4):
        raise ValueError("CVV must be 3 or 4 digits")
    return text


def read_month(value: object) -> int:
    if isinstance(value, str) and is_digits(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 12:
        raise ValueError("month must be 1-12")
    return value


def read_year(value: object) -> int:
    """A four-digit year 2000-2099; two digits mean 20YY."""
    if isinstance(value, str) and is_digits(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("year must be a number like 2030")
    if 0 <= value < 100:
        value += 2000
    if not 2000 <= value <= 2099:
        raise ValueError("year must be a four-digit year like 2030")
    return value


def check_expiry(month: int, year: int, today: date) -> None:
    if expired(month, year, today.year, today.month):
        raise ValueError(f"card expired ({month:02d}/{year})")


def read_expiry(text: str, today: date) -> tuple[int, int]:
    """``MM/YYYY`` (or ``MM/YY``) as the prompt takes it: (month, year), not expired by
    ``today``; else ValueError."""
    month, sep, year = (part.strip() for part in text.partition("/"))
    if not sep:
        raise ValueError("the expiry looks like 08/2030 (month, a slash, the year)")
    month_n, year_n = read_month(month), read_year(year)
    check_expiry(month_n, year_n, today)
    return month_n, year_n


def fold_digits(text: str) -> str:
    """Any script's decimal digits as ASCII, separators dropped: for comparing numbers (the
    production guard's test-card check), never for accepting one."""
    out = []
    for ch in NUMBER_SEPARATORS.sub("", text.strip()):
        digit = unicodedata.decimal(ch, None)
        out.append(str(digit) if digit is not None else ch)
    return "".join(out)


def test_card_of(number: str) -> TestCard | None:
    """The sandbox test card this number is, however its digits are written."""
    return BY_NUMBER.get(fold_digits(number))


# The JWE plaintext (docs/api.md, "The encrypted card"): every value a string. The client builds
# it with ``payload``; the sandbox reads it back with ``check_payload``.


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
    if not (len(month) in (1, 2) and is_digits(month) and 1 <= int(month) <= 12):
        raise ValueError("card month must be 1-12 (one or two digits)")
    if not (len(year) in (2, 4) and is_digits(year)):
        raise ValueError("card year must be two or four digits")
    card["month"] = f"{int(month):02d}"
    card["year"] = f"20{year}" if len(year) == 2 else year
    if not (is_digits(cvv) and 3 <= len(cvv) <= 4):
        raise ValueError("card verification_value must be 3 or 4 digits")
    if not luhn_ok(card["number"]):
        raise ValueError("card number fails the Luhn check")
    return card
