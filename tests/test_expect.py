"""Expectations for smoke suites: `expect:` in order files, judged by place and batch, in JUnit."""

from __future__ import annotations

import contextlib
import json
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from cart_cli.core.checkout import OrderResult
from cart_cli.core.errors import ApiError, Exit, NetworkError, OutcomeUnknown
from cart_cli.core.expect import Expect, judge
from tests.helpers import ADDRESS, cli, order_doc, sandbox_orders, target, write_order

ORDER = {
    "platform_order_number": "000000001",
    "total": {"currency": "USD", "value": 53.51, "number": 5351},
    "line_items": [{"sku": "WS12-XS-Orange", "quantity": 2}],
}


def placed() -> OrderResult:
    return OrderResult("staging.luma.gift", True, order=ORDER)


def failed(err) -> OrderResult:
    return OrderResult("staging.luma.gift", False, error=err)


DECLINED = ApiError("ErrorPaymentDeclined", "The card was declined")
NO_STOCK = ApiError("ErrorNotEnoughStock", "Only 1 left")
CAPTCHA = ApiError("ErrorCaptchaRequired", "captcha")
DOWN = ApiError("ErrorStoreUnavailable", "down")
UNKNOWN = OutcomeUnknown("the event stream ended before the order was confirmed")


@pytest.mark.parametrize(
    ("expect", "result", "met"),
    [
        ({"outcome": "placed"}, placed(), True),
        ({"outcome": "placed", "total": "53.51", "items": 1}, placed(), True),
        ({"outcome": "placed", "total": "53.50"}, placed(), False),
        ({"outcome": "placed", "items": 2}, placed(), False),
        ({"outcome": "declined"}, failed(DECLINED), True),
        ({"outcome": "declined", "error": "ErrorPaymentDeclined"}, failed(DECLINED), True),
        ({"outcome": "declined", "error": "ErrorOther"}, failed(DECLINED), False),
        ({"outcome": "declined"}, placed(), False),
        ({"outcome": "out-of-stock"}, failed(NO_STOCK), True),
        ({"outcome": "captcha"}, failed(CAPTCHA), True),
        ({"outcome": "not-placed"}, failed(DECLINED), True),
        ({"outcome": "not-placed"}, failed(DOWN), True),
        ({"outcome": "not-placed"}, failed(NetworkError("refused")), True),
        ({"outcome": "not-placed"}, placed(), False),
        ({"outcome": "placed"}, failed(DECLINED), False),
        # an unknown outcome is never met, whatever was expected
        ({"outcome": "not-placed"}, failed(UNKNOWN), False),
        ({"outcome": "placed"}, failed(UNKNOWN), False),
        ({"outcome": "declined"}, failed(UNKNOWN), False),
    ],
)
def test_judge(expect, result, met):
    verdict = judge(Expect.model_validate(expect), result)
    assert verdict.met is met
    if met:
        assert verdict.exit_code == Exit.OK
    elif result.error is UNKNOWN:
        assert verdict.exit_code == Exit.UNKNOWN  # "may have been placed" wins
    else:
        assert verdict.exit_code == Exit.EXPECTATION


def test_differences_say_expected_and_actual():
    v = judge(Expect.model_validate({"outcome": "placed", "total": "91.00", "items": 2}), placed())
    assert v.differences == ["total: expected 91.00, got 53.51", "items: expected 2, got 1"]
    v = judge(Expect.model_validate({"outcome": "declined"}), failed(NO_STOCK))
    assert v.differences == ["outcome: expected declined, got out-of-stock (ErrorNotEnoughStock)"]


@given(st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False))
def test_total_round_trips_any_amount_of_cents(amount: Decimal):
    e = Expect.model_validate({"outcome": "placed", "total": str(amount)})
    assert Decimal(e.to_json()["total"]) == amount


@given(st.text(max_size=12))
def test_total_never_crashes_on_text(text: str):
    from cart_cli.core.shapes import Invalid

    with contextlib.suppress(Invalid):  # a clear refusal, never another exception
        Expect.model_validate({"outcome": "placed", "total": text})


@pytest.mark.parametrize(
    ("expect", "line", "message"),
    [
        ({"outcome": "shipped"}, 2, "expect.outcome: input should be 'placed'"),
        ({"outcome": "placed", "total": "9.001"}, 3, "expect.total: must be an exact amount"),
        ({"outcome": "placed", "items": -1}, 3, "expect.items: input should be greater"),
        ({"outcome": "placed", "error": "ErrorX"}, 1, "error: is for outcomes other than placed"),
        ({"outcome": "declined", "total": "1.00"}, 1, "only checked when outcome is placed"),
        ({"outcome": "placed", "colour": "red"}, 3, "expect.colour: unknown field"),
    ],
)
def test_bad_expectations_name_file_field_and_line(tmp_path, expect, line, message):
    f = tmp_path / "o.yaml"
    f.write_text(yaml.safe_dump({"expect": expect, **order_doc()}, sort_keys=False))
    r = cli(["validate", f])
    assert r.code == 2
    assert f"o.yaml:{line}: " in r.stderr and message in r.stderr, r.stderr


# ---- place ---


def place(sandbox, f, *extra):
    return cli(["place", f, *target(sandbox), *extra])


def test_place_met_expectation_of_a_decline_is_exit_0(cart_sandbox, tmp_path):
    f = write_order(tmp_path / "o.yaml", card="test:declined", expect={"outcome": "declined"})
    r = place(cart_sandbox, f)
    assert r.code == 0, r.stderr
    assert "expectation met: declined (ErrorPaymentDeclined)" in r.stderr
    r = place(cart_sandbox, f, "--json")
    assert r.code == 0
    doc = r.json()
    assert doc["ok"] is False and doc["expectation"]["met"] is True
    assert doc["expectation"]["actual"] == {"outcome": "declined", "error": "ErrorPaymentDeclined"}


def test_place_unmet_expectation_is_exit_10_with_what_differed(cart_sandbox, tmp_path):
    f = write_order(tmp_path / "o.yaml", expect={"outcome": "placed", "total": "91.00"})
    r = place(cart_sandbox, f)
    assert r.code == 10
    assert "error: expectation not met: total: expected 91.00, got 29.26" in r.stderr
    assert "Order 000000001" in r.stdout  # the order was placed: its receipt is still shown
    f = write_order(tmp_path / "o.yaml", card="test:declined", expect={"outcome": "placed"})
    r = place(cart_sandbox, f, "--json")
    assert r.code == 10
    assert r.json()["expectation"]["differences"] == [
        "outcome: expected placed, got declined (ErrorPaymentDeclined)"
    ]


def test_place_unknown_outcome_never_meets_and_keeps_exit_8(cart_sandbox, tmp_path):
    f = write_order(tmp_path / "o.yaml", expect={"outcome": "not-placed"})
    r = place(cart_sandbox, f, "-H", "x-sandbox-fault: commit-then-cut", "--json")
    assert r.code == 8
    doc = r.json()
    assert doc["expectation"]["met"] is False and doc["expectation"]["actual"]["outcome"] == (
        "unknown"
    )


def test_expect_is_never_sent(cart_sandbox, tmp_path):
    f = write_order(tmp_path / "o.yaml", expect={"outcome": "placed", "items": 1})
    r = place(cart_sandbox, f, "--dry-run")
    assert r.code == 0 and "expect" not in r.json()["body"]


# ---- batch and JUnit ---


def test_batch_smoke_suite_with_expectations_and_junit(cart_sandbox, tmp_path):
    suite = {
        "defaults": {
            "merchant": "staging.luma.gift",
            "shipping_info": ADDRESS,
            "card": "test:visa",
        },
        "orders": [
            {
                "items": [{"variant_id": "WS12-XS-Orange", "quantity": 1}],
                "expect": {"outcome": "placed", "total": "29.26", "items": 1},
            },
            {
                "items": [{"variant_id": "WS12-XS-Orange", "quantity": 1}],
                "card": "test:declined",
                "expect": {"outcome": "declined", "error": "ErrorPaymentDeclined"},
            },
            {
                "items": [{"variant_id": "MP05-32-Black", "quantity": 1}],
                "expect": {"outcome": "out-of-stock"},
            },
        ],
    }
    f = tmp_path / "smoke.yaml"
    f.write_text(yaml.safe_dump(suite, sort_keys=False))
    junit = tmp_path / "junit.xml"
    args = ["batch", f, *target(cart_sandbox), "--junit", junit, "--ledger", tmp_path / "l"]
    r = cli([*args, "--json"])
    assert r.code == 0, r.stderr
    doc = r.json()
    assert doc["expectations_met"] == 3 and doc["expectations_unmet"] == 0
    assert "expectations: 3 met, 0 not met" in r.stderr
    # the CI log's line per order: an expected decline is a pass, not a shouted failure
    lines = [x for x in r.stderr.splitlines() if "smoke.yaml#" in x]
    assert sum("(as expected)" in x and "expectation met" in x for x in lines) == 2, lines
    assert not any(x.split()[0].isupper() for x in lines), lines
    root = ET.parse(junit).getroot()
    assert root.get("failures") == "0" and root.get("errors") == "0"
    assert len(sandbox_orders(cart_sandbox)) == 1

    # the same suite where the decline was not expected to happen
    suite["orders"][1]["expect"] = {"outcome": "placed"}
    suite["orders"][0]["expect"]["total"] = "30.00"
    f.write_text(yaml.safe_dump(suite, sort_keys=False))
    r = cli([*args, "--jsonl", tmp_path / "r.jsonl"])
    assert r.code == 10, r.stderr
    assert "expectations: 1 met, 2 not met" in r.stderr
    assert "total: expected 30.00, got 29.26" in r.stderr
    root = ET.parse(junit).getroot()
    assert root.get("failures") == "2" and root.get("errors") == "0"
    fails = [c.find("failure") for c in root.iter("testcase") if c.find("failure") is not None]
    assert {x.get("type") for x in fails} == {"ExpectationNotMet"}
    assert any("expected: " in x.text and "actual: " in x.text for x in fails)
    lines = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [x["expectation"]["met"] for x in lines].count(True) == 1


@pytest.mark.parametrize("text", ["1E100", "-1e-30", "NaN", "Infinity", "9" * 40])
def test_totals_too_large_or_not_finite_are_refused_clearly(text):
    from cart_cli.core.shapes import Invalid

    with pytest.raises(Invalid, match="must be an exact amount"):
        Expect.model_validate({"outcome": "placed", "total": text})


def test_the_stdout_summary_shows_each_expectation_met_or_not(cart_sandbox, tmp_path):
    """CI readers: the summary on stdout says which orders did what they were expected to; an
    expected decline is 'met', a placed order at the wrong total is 'not met', with why."""
    suite = {
        "defaults": {
            "merchant": "staging.luma.gift",
            "shipping_info": ADDRESS,
            "card": "test:visa",
        },
        "orders": [
            {
                "items": [{"variant_id": "WS12-XS-Orange", "quantity": 1}],
                "expect": {"outcome": "placed", "total": "30.00"},
            },
            {
                "items": [{"variant_id": "WS12-XS-Orange", "quantity": 1}],
                "card": "test:declined",
                "expect": {"outcome": "declined"},
            },
            {"items": [{"variant_id": "24-MB01", "quantity": 1}]},  # no expectation
        ],
    }
    f = tmp_path / "smoke.yaml"
    f.write_text(yaml.safe_dump(suite, sort_keys=False))
    r = cli(["batch", f, *target(cart_sandbox), "--ledger", tmp_path / "l", "--no-history"])
    assert r.code == 10, r.stderr
    assert "expectations: 1 met, 1 not met" in r.stdout.splitlines()[0]
    rows = {line.split("│")[3].strip(): line for line in r.stdout.splitlines() if "#" in line}
    cell = {name: row.split("│")[2].strip() for name, row in rows.items()}
    assert cell[f"{f}#0"] == "not met" and "│ total: expected 30.00" in rows[f"{f}#0"]
    assert cell[f"{f}#1"] == "met" and cell[f"{f}#2"] == "-"
