"""The order's shapes without pydantic (core/shapes.py) say what pydantic said: the same problems,
in the same order and words, and the same values when the input is good.

The oracle is pydantic itself: the sandbox's models (wire/models.py: Address, Item) and, for the
rest, the client's former pydantic models, kept here as they were."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cart_cli.core import expect as new_expect
from cart_cli.core import order as new
from cart_cli.core.shapes import Invalid
from cart_cli.wire.models import Address, Item
from tests import pydantic_oracle as old

TODAY = datetime.date(2026, 12, 7)

# ---- input: what a YAML order file can hold, near the edges of each rule ---
SPACE = [" ", "\t", "\n", "\u00a0", "\u3000", "\u2028", "\x1c", "\x1f", "\u200b", "\u0085"]
TEXTS = [
    "Ada",
    "",
    " ",
    "  Ada  ",
    "x" * 200,
    "x" * 201,
    " " + "x" * 200 + " ",
    "98101",
    "９８１０１",
    "٣٣",
    "ada@example.com",
    " ada@example.com ",
    "ada@example",
    "a b@example.com",
    "a\u00a0b@example.com",
    "a\x1cb@example.com",
    "ada@example.com\n",
    "staging.luma.gift",
    "Staging.LUMA.gift ",
    "-bad.gift",
    "a..b",
    "localhost",
    "x" * 64 + ".gift",
    ("a" * 63 + ".") * 4 + "gift",
    "staging.luma.gift\n",
    "\u212aelvin.gift",
    "same_as_shipping",
    "ErrorPaymentDeclined",
    "ErrorPaymentDeclined\n",
    "1bad",
    "placed",
    "declined",
    "out-of-stock",
    "cart",
    "place-order",
    "auto",
    "Auto",
    "91.00",
    "$91.00",
    "91.001",
    "1E100",
    "NaN",
    "4111111111111111",
    "4111 1111 1111 1111",
    "4111111111111112",
    "123",
    "12",
    "08",
    "2030",
    "30",
    "1999",
]
SCALARS = st.one_of(
    st.sampled_from(TEXTS),
    st.builds(
        lambda a, b, c: a + b + c,
        st.sampled_from(SPACE),
        st.sampled_from(TEXTS),
        st.sampled_from(SPACE),
    ),
    st.text(max_size=6),
    st.integers(min_value=-3, max_value=12),
    st.sampled_from([0, 1, 12, 13, 200, 201, 10_000, 10_001, 2030, 30, 2**70, -(2**70)]),
    st.sampled_from([True, False, None, 1.0, 1.5, float("nan"), datetime.date(2030, 8, 1)]),
    st.sampled_from([[], {}, ["x"], {"a": 1}]),
)


def junk_or(valid, p_valid: float = 0.7):
    return st.one_of(valid, SCALARS) if p_valid else SCALARS


def mapping(fields: dict[str, Any]) -> st.SearchStrategy:
    """A dict of ``fields`` (each maybe left out or replaced), maybe an unknown key too."""

    @st.composite
    def build(draw):
        out = {}
        for name, value in fields.items():
            how = draw(st.sampled_from(["keep"] * 6 + ["drop", "junk"]))
            if how == "keep":
                out[name] = draw(value) if isinstance(value, st.SearchStrategy) else value
            elif how == "junk":
                out[name] = draw(SCALARS)
        if draw(st.integers(0, 9)) == 0:
            out[draw(st.sampled_from(["extra", 1, "sku", "variant_id", True]))] = draw(SCALARS)
        return out

    return build()


ADDRESS = {
    "first_name": st.sampled_from(["Ada", " Ada ", ""]),
    "last_name": "Lovelace",
    "email": st.sampled_from(["ada@example.com", "ada@x", " a@b.co "]),
    "phone": st.sampled_from(["2065551212", 2065551212]),
    "address1": "1 Main St",
    "address2": st.sampled_from([None, "Apt 1", ""]),
    "company": st.sampled_from([None, "Firmly"]),
    "city": "Seattle",
    "state_or_province": "WA",
    "country": "US",
    "postal_code": st.sampled_from(["98101", "９８１０１", 98101, " 98101 "]),
}
ITEM = st.one_of(
    mapping(
        {
            "variant_id": st.sampled_from(["WS12", " WS12 ", ""]),
            "quantity": st.sampled_from([1, 2, 0, "1", True, 1.0]),
        }
    ),
    mapping({"sku": "WS12", "quantity": 1}),
    SCALARS,
)
CARD = {
    "number": st.sampled_from(
        [
            "4111111111111111",
            "4111 1111 1111 1111",
            "4111111111111112",
            4111111111111111,
            "４１１１１１１１１１１１１１１１",
        ]
    ),
    "name": st.sampled_from(["Ada Lovelace", ""]),
    "month": st.sampled_from([8, "08", 13, "x", True, 1]),
    "year": st.sampled_from([2030, "30", 2025, 1999, "2030"]),
    "cvv": st.sampled_from(["123", 123, "12", "1234"]),
}
EXPECT = {
    "outcome": st.sampled_from(["placed", "declined", "not-placed", "bad"]),
    "error": st.sampled_from([None, "ErrorPaymentDeclined", "1x", "Err\n"]),
    "total": st.sampled_from([None, "91.00", 91, 91.5, "91.001", True, [1]]),
    "items": st.sampled_from([None, 1, -1, "2", 10_001]),
}
ORDER = {
    "merchant": st.sampled_from(["staging.luma.gift", " Staging.Luma.Gift ", "bad", 7]),
    "items": st.one_of(
        st.lists(ITEM, max_size=3), st.just([{"variant_id": "A", "quantity": 1}] * 201), SCALARS
    ),
    "shipping_info": junk_or(mapping(ADDRESS)),
    "billing_info": st.one_of(st.just("same_as_shipping"), st.none(), mapping(ADDRESS)),
    "card": junk_or(mapping(CARD)),
    "captcha_token": st.sampled_from([None, "tok", ""]),
    "flow": st.sampled_from([None, "cart", "auto", "Cart", 1]),
    "shipping_method": st.sampled_from([None, "flatrate", ""]),
    "expect": st.one_of(st.none(), mapping(EXPECT), SCALARS),
}


def problems(e) -> list[tuple]:
    out = []
    for err in e.errors(include_input=False, include_url=False):
        ctx = err.get("ctx") or {}
        shown = str(ctx["error"]) if "error" in ctx else None
        out.append((err["type"], tuple(err["loc"]), err["msg"], shown))
    return out


def outcome(model, data):
    try:
        made = model.model_validate(data, context={"today": TODAY})
    except (ValidationError, Invalid) as e:
        return ("invalid", problems(e))
    return ("valid", made)


def same(old_model, new_model, data, dump) -> None:
    old, new_ = outcome(old_model, data), outcome(new_model, data)
    assert old[0] == new_[0], (data, old, new_)
    if old[0] == "invalid":
        assert old[1] == new_[1], data
    else:
        assert dump(old[1]) == dump(new_[1]), data


def plain(model) -> dict:
    return model.model_dump()


FAST = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(mapping(ADDRESS))
def test_an_address_is_read_as_the_sandbox_reads_it(data):
    same(Address, new.Address, data, plain)


@FAST
@given(ITEM)
def test_an_item_is_read_as_the_sandbox_reads_it(data):
    same(Item, new.Item, data, plain)


@FAST
@given(junk_or(mapping(CARD)))
def test_a_card_is_read_as_before(data):
    def dump(card):
        return (
            card.number.get_secret_value(),
            card.name,
            card.month,
            card.year,
            card.cvv.get_secret_value(),
        )

    same(old.Card, new.Card, data, dump)


@FAST
@given(junk_or(mapping(EXPECT)))
def test_an_expectation_is_read_as_before(data):
    same(old.Expect, new_expect.Expect, data, plain)


def order_dump(order) -> dict:
    data = order.model_dump(exclude={"card"})
    data["card"] = [order.card.number.get_secret_value(), order.card.month, order.card.year]
    return data


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mapping(ORDER))
def test_an_order_is_read_as_before(data):
    same(old.Order, new.Order, data, order_dump)


@given(st.sampled_from(TEXTS + SPACE), st.sampled_from([*SPACE, ""]))
def test_text_rules_as_pydantic(text, pad):
    for field in ("merchant", "email", "first_name", "postal_code"):
        data = pad + text + pad
        if field == "merchant":
            same(old.Order, new.Order, {"merchant": data}, order_dump)
        else:
            same(Address, new.Address, {field: data}, plain)


def test_the_long_s_is_no_letter_of_a_merchant_domain():
    # The one difference, on purpose: pydantic's Rust pattern read (?i)[a-z] as taking U+017F.
    assert outcome(new.Order, {"merchant": "ſtaging.gift"})[1][0][:2] == (
        "string_pattern_mismatch",
        ("merchant",),
    )


def test_secrets_are_not_shown():
    card = new.Card.model_validate(
        {"number": "4111111111111111", "name": "A", "month": 8, "year": 2030, "cvv": "123"},
        context={"today": TODAY},
    )
    assert "4111" not in repr(card) and "123" not in repr(card.cvv) and "4111" not in str(card)


@pytest.mark.parametrize("model", [new.Address, new.Item, new.Card, new.Order, new_expect.Expect])
def test_shapes_are_slotted_and_read_only(model):
    assert model.__dictoffset__ == 0  # no per-instance dict: a batch keeps many
    assert model.__slots__ == tuple(f.name for f in model.FIELDS)
