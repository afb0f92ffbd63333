"""Money: integer minor units on the inside, the contract's money object on the wire.

Never binary-float arithmetic: a float ``value`` from the wire is read through ``Decimal(str(v))``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from cart_cli.wire.text import has_foreign_digits

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "$", "AUD": "$", "JPY": "¥"}
CENT = Decimal("0.01")


def parse_decimal(text: str | int | float) -> int:
    """'22.00' -> 2200. Raises ValueError for anything that is not an exact amount of cents."""
    try:
        if has_foreign_digits(str(text)):  # Decimal() reads any script's digits
            raise InvalidOperation
        d = Decimal(str(text))
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None
    try:  # quantize refuses exponents beyond the context's precision (1E100)
        exact = d.is_finite() and d == d.quantize(CENT)
    except InvalidOperation:
        exact = False
    if not exact:
        raise ValueError(f"not an exact amount of cents: {text!r}")
    return int(d * 100)


def to_cents(money: object) -> int | None:
    """Minor units of a wire money object; prefers ``number``, falls back to ``value``."""
    if isinstance(money, dict):
        number = money.get("number")
        if isinstance(number, int) and not isinstance(number, bool):
            return number
        value = money.get("value")
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            if has_foreign_digits(str(value)):
                return None
            try:
                d = Decimal(str(value))
                if d.is_finite():
                    return int((d * 100).quantize(Decimal(1), ROUND_HALF_UP))
            except ArithmeticError:  # InvalidOperation, Overflow: 1e999999999 is not money
                return None
    return None


def currency_of(money: object, default: str = "USD") -> str:
    if isinstance(money, dict) and isinstance(money.get("currency"), str):
        return money["currency"]
    return default


def to_wire(cents: int, currency: str = "USD") -> dict:
    """The four-member money object (docs/api.md, "Money")."""
    return {
        "currency": currency,
        "value": float(Decimal(cents) / 100),  # a conversion for JSON, not arithmetic
        "symbol": SYMBOLS.get(currency, ""),
        "number": cents,
    }


def fmt(cents: int | None, currency: str = "USD") -> str:
    """2200 -> '$22.00'; None -> '-'."""
    if cents is None:
        return "-"
    sign = "-" if cents < 0 else ""
    major, minor = divmod(abs(cents), 100)
    symbol = SYMBOLS.get(currency)
    amount = f"{major:,}.{minor:02d}"
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency}"


def plain(cents: int) -> str:
    """2200 -> '22.00', -5 -> '-0.05': the amount as written in order files and JSON."""
    sign = "-" if cents < 0 else ""
    major, minor = divmod(abs(cents), 100)
    return f"{sign}{major}.{minor:02d}"


def mul_rate_half_up(cents: int, rate: Decimal) -> int:
    """cents x rate, rounded half-up to the cent (tax)."""
    return int((Decimal(cents) * rate).quantize(Decimal(1), ROUND_HALF_UP))
