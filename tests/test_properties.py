"""Property-based tests (hypothesis) for the parsers and validators."""

from __future__ import annotations

import contextlib
import json
import string
from decimal import Decimal

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cart_cli.core.errors import OrderInvalid
from cart_cli.core.events import decode
from cart_cli.core.order import Order, load_order
from cart_cli.core.yamldoc import load_text
from cart_cli.wire.cards import luhn_ok
from cart_cli.wire.money import fmt, to_cents, to_wire
from tests.helpers import inputs, order_doc

FAST = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(["test:visa", "same_as_shipping", "${HOME}", "${NOPE_NOT_SET}"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=25,
)
FIELDS = ["merchant", "items", "shipping_info", "billing_info", "card", "captcha_token", "extra"]


def only_our_error(path) -> None:
    try:
        result = load_order(path, inputs=inputs())
    except OrderInvalid as e:
        assert e.problems and all(str(p) for p in e.problems)
    else:
        assert isinstance(result, Order)


@FAST
@given(text=st.text(max_size=300))
def test_any_text_gives_an_order_or_our_validation_error(tmp_path, text):
    f = tmp_path / "fuzz.yaml"
    f.write_text(text, encoding="utf-8")
    only_our_error(f)


@FAST
@given(data=st.binary(max_size=200))
def test_any_bytes_give_an_order_or_our_validation_error(tmp_path, data):
    f = tmp_path / "fuzz.yaml"
    f.write_bytes(data)
    only_our_error(f)


@FAST
@given(doc=st.dictionaries(st.sampled_from(FIELDS), values, max_size=7))
def test_any_document_gives_an_order_or_our_validation_error(tmp_path, doc):
    f = tmp_path / "fuzz.yaml"
    f.write_text(yaml.safe_dump(doc))
    only_our_error(f)


@FAST
@given(field=st.sampled_from(FIELDS[:6]), value=values)
def test_a_valid_order_with_one_field_replaced(tmp_path, field, value):
    doc = order_doc()
    doc[field] = value
    f = tmp_path / "fuzz.yaml"
    f.write_text(yaml.safe_dump(doc))
    only_our_error(f)


@FAST
@given(
    doc=st.dictionaries(
        st.sampled_from(["number", "name", "month", "year", "cvv", "x"]), scalars, max_size=6
    )
)
def test_card_problems_never_echo_the_input(tmp_path, doc):
    secret = "4929123412341234"
    doc["number"] = secret
    f = tmp_path / "fuzz.yaml"
    f.write_text(yaml.safe_dump(order_doc(card=doc)))
    try:
        load_order(f, inputs=inputs())
    except OrderInvalid as e:
        assert secret not in e.describe()


@FAST
@given(
    doc=st.dictionaries(
        st.one_of(st.sampled_from(["number", "name", "cvv"]), st.text(string.digits + " -")),
        scalars,
        max_size=5,
    ),
    as_key=st.sampled_from(["4929123412341234", "4929 1234 1234 1234", 4929123412341234]),
)
def test_card_problems_never_echo_a_key(tmp_path, doc, as_key):
    """A card written the wrong way round (number: cvv) must not show its number as a key."""
    doc[as_key] = "8317"
    f = tmp_path / "fuzz.yaml"
    f.write_text(yaml.safe_dump(order_doc(card=doc)))
    with pytest.raises(OrderInvalid) as e:
        load_order(f, inputs=inputs())
    assert "4929" not in e.value.describe()


@given(digits=st.text(alphabet=string.digits, min_size=11, max_size=18))
def test_luhn_check_digit_is_unique(digits):
    valid = [d for d in string.digits if luhn_ok(digits + d)]
    assert len(valid) == 1


@given(cents=st.integers(min_value=-(10**12), max_value=10**12))
def test_money_round_trips_through_the_wire(cents):
    wire = to_wire(cents)
    assert to_cents(wire) == cents
    assert to_cents({"currency": "USD", "value": wire["value"]}) == cents
    assert Decimal(fmt(cents).replace("$", "").replace(",", "")) == Decimal(cents) / 100


def test_money_is_exact():
    assert to_cents({"value": 19.99}) * 3 == 5997
    assert fmt(5997) == "$59.97" and fmt(-5) == "-$0.05" and fmt(123456789) == "$1,234,567.89"


EVENTS = [
    ("creating-cart", {"domain": "x.test"}),
    ("item-added", {"n": 1, "s": "a\nb"}),
    ("mystery", {"ignored": True}),
    ("item-added", {"n": 2}),
    ("shipping-updated", {"ok": "é✓"}),
    ("order-placed", {"platform_order_number": "7"}),
]


def sse_bytes(crlf: bool, comments: bool, multiline: bool) -> bytes:
    nl = "\r\n" if crlf else "\n"
    out = []
    for i, (name, data) in enumerate(EVENTS):
        if comments:
            out.append(f": keep-alive{nl}{nl}")
        text = json.dumps(data, indent=1 if multiline else None, ensure_ascii=False)
        lines = [f"event: {name}", f"id: {i}", "retry: 1000"]
        lines += [f"data: {part}" for part in text.split("\n")]
        out.append(nl.join(lines) + nl + nl)
    return "".join(out).encode()


@settings(max_examples=200, deadline=None)
@given(
    crlf=st.booleans(),
    comments=st.booleans(),
    multiline=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=40),
)
def test_sse_decoding_is_independent_of_chunking_and_framing(crlf, comments, multiline, cuts):
    raw = sse_bytes(crlf, comments, multiline)
    points = sorted({c % (len(raw) + 1) for c in cuts})
    chunks = [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True) if raw[a:b]]
    events = list(decode(chunks, total_items=2))
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["CreatingCart", "ItemAdded", "ItemAdded", "ShippingUpdated", "OrderPlaced"]
    assert events[1].cart == {"n": 1, "s": "a\nb"} and events[2].index == 2
    assert events[3].cart == {"ok": "é✓"}


def test_sse_one_byte_at_a_time_and_garbled_data():
    raw = sse_bytes(True, True, True) + b"event: item-added\ndata: {broken\n\n"
    events = list(decode([raw[i : i + 1] for i in range(len(raw))]))
    assert type(events[-1]).__name__ == "Garbled" and events[-1].event == "item-added"


@FAST
@given(text=st.text(max_size=200))
def test_yaml_loader_raises_only_our_error(text):
    with contextlib.suppress(OrderInvalid):
        load_text(text, "x.yaml", env={})
