"""Expectations for smoke suites: an order file's ``expect:``, and judging a result against it.

``outcome`` is one of placed | declined | out-of-stock | captcha | not-placed (any outcome where
the order surely was not placed); ``error`` an API error name; ``total`` an exact amount and
``items`` the number of order lines, both only for ``placed``. An unknown outcome (the order may
or may not have been placed) never meets any expectation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cart_cli.core import shapes
from cart_cli.core.errors import UNKNOWN, Exit
from cart_cli.core.shapes import Field, Shape
from cart_cli.wire.money import parse_decimal, plain, to_cents
from cart_cli.wire.names import Err

PLACED, DECLINED, OUT_OF_STOCK, CAPTCHA, NOT_PLACED = (
    "placed",
    "declined",
    "out-of-stock",
    "captcha",
    "not-placed",
)
OUTCOMES = (PLACED, DECLINED, OUT_OF_STOCK, CAPTCHA, NOT_PLACED)
OUTCOME_OF_ERROR = {
    Err.PAYMENT_DECLINED: DECLINED,
    Err.NOT_ENOUGH_STOCK: OUT_OF_STOCK,
    Err.CAPTCHA_REQUIRED: CAPTCHA,
}
# An extra notice name (a 200 that is not an order: an item went out of stock meanwhile).
ITEMS_REMOVED = "CART_ITEMS_REMOVED"


def _total(v: Any) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (str, int, float)):
        raise ValueError('must be an amount like "91.00"')
    try:
        return parse_decimal(str(v).strip().lstrip("$"))
    except ValueError:
        raise ValueError('must be an exact amount like "91.00"') from None


class Expect(Shape):
    FIELDS = (
        Field("outcome", shapes.literal(*OUTCOMES)),
        Field(
            "error",
            shapes.optional(shapes.text(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,80}$")),
            required=False,
        ),
        # cents; written as "91.00"
        Field("total", shapes.before(_total, shapes.optional(shapes.integer())), required=False),
        Field(
            "items",
            shapes.optional(shapes.integer(ge=0, le=10_000, strict=True)),
            required=False,
        ),
    )
    __slots__ = tuple(f.name for f in FIELDS)

    def check(self, context) -> None:
        if self.outcome == PLACED and self.error:
            raise ValueError("error: is for outcomes other than placed")
        if self.outcome != PLACED and (self.total is not None or self.items is not None):
            raise ValueError("total: and items: are only checked when outcome is placed")

    def to_json(self) -> dict:
        doc: dict = {"outcome": self.outcome}
        if self.error:
            doc["error"] = self.error
        if self.total is not None:
            doc["total"] = plain(self.total)
        if self.items is not None:
            doc["items"] = self.items
        return doc


def actual_of(result) -> dict:
    """What happened, in the terms of an expectation (``result`` is a checkout.OrderResult)."""
    if result.ok:
        order = result.order or {}
        cents = to_cents(order.get("total"))
        lines = order.get("line_items")
        return {
            "outcome": PLACED,
            "total": plain(cents) if cents is not None else None,
            "items": len(lines) if isinstance(lines, list) else None,
        }
    err = result.error
    if err is None or err.outcome == UNKNOWN:
        return {"outcome": "unknown", "error": err.code if err else None}
    outcome = OUTCOME_OF_ERROR.get(err.code, NOT_PLACED)
    if err.code == ITEMS_REMOVED:
        outcome = OUT_OF_STOCK
    return {"outcome": outcome, "error": err.code}


@dataclass
class Verdict:
    expected: Expect
    actual: dict
    differences: list[str] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return not self.differences

    @property
    def exit_code(self) -> Exit:
        if self.met:
            return Exit.OK
        # "may have been placed" matters more than the expectation: check before retrying
        return Exit.UNKNOWN if self.actual["outcome"] == "unknown" else Exit.EXPECTATION

    def describe(self) -> str:
        if self.met:
            what = self.actual["outcome"]
            if self.actual.get("error"):
                what += f" ({self.actual['error']})"
            return f"expectation met: {what}"
        return "expectation not met: " + "; ".join(self.differences)

    def to_json(self) -> dict:
        return {
            "met": self.met,
            "expected": self.expected.to_json(),
            "actual": {k: v for k, v in self.actual.items() if v is not None},
            "differences": self.differences,
        }


def judge(expected: Expect, result) -> Verdict:
    actual = actual_of(result)
    got = actual["outcome"]
    diffs = []
    outcome_ok = got == expected.outcome or (
        expected.outcome == NOT_PLACED and got in (DECLINED, OUT_OF_STOCK, CAPTCHA, NOT_PLACED)
    )
    if not outcome_ok:
        detail = f" ({actual['error']})" if actual.get("error") else ""
        diffs.append(f"outcome: expected {expected.outcome}, got {got}{detail}")
    if expected.error and actual.get("error") != expected.error:
        diffs.append(f"error: expected {expected.error}, got {actual.get('error') or 'none'}")
    if got == PLACED:
        if expected.total is not None and actual["total"] != plain(expected.total):
            diffs.append(
                f"total: expected {plain(expected.total)}, got {actual['total'] or 'none'}"
            )
        if expected.items is not None and actual["items"] != expected.items:
            diffs.append(f"items: expected {expected.items}, got {actual['items']}")
    return Verdict(expected, actual, diffs)
