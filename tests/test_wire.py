"""wire/ holds the contract once: the error table the client and the sandbox both use, and the
names of documents and outcomes."""

from __future__ import annotations

import json
import re

import pytest

from cart_cli.core.errors import ApiError, Exit
from cart_cli.sandbox.errors import SandboxError
from cart_cli.wire.errors import ERRORS, UNLISTED, spec
from cart_cli.wire.names import Err, Outcome, Schema
from tests.helpers import ROOT


def test_every_contract_error_has_one_row_used_by_client_and_sandbox():
    names = {v for k, v in vars(Err).items() if not k.startswith("_")}
    assert names == set(ERRORS)
    for name, row in ERRORS.items():
        assert SandboxError(name, "x").status == row.status  # what the sandbox answers
        err = ApiError(name, "x")
        assert err.exit_code == row.exit_code and err.hint == row.hint  # what the client does
    assert (
        spec("ErrorSomethingNew") is UNLISTED and ApiError("ErrorSomethingNew", "").exit_code == 5
    )


def test_the_documented_error_table_is_the_code_table():
    text = (ROOT / "docs" / "exit-codes.md").read_text()
    text = text[text.index("| API error | exit |") :].split("\n\n")[0]
    rows = re.findall(r"^\| (`.*?) \| (\d+)[^|]* \|$", text, re.M)
    assert rows
    documented = set()
    for names, code in rows:
        for name in re.findall(r"`(\w+)`", names):
            assert ERRORS[name].exit_code == Exit(int(code)), name
            documented.add(name)
    assert set(ERRORS) <= documented, "not in docs/exit-codes.md: " + ", ".join(
        sorted(set(ERRORS) - documented)
    )


def test_names_are_their_strings_in_json():
    doc = json.loads(json.dumps({"schema": Schema.ORDER_RESULT, "outcome": Outcome.UNKNOWN}))
    assert doc == {"schema": "cart-cli.order-result/1", "outcome": "unknown"}
    assert f"{Outcome.NOT_PLACED}" == "not_placed"


def test_the_card_payload_the_client_builds_is_the_one_the_sandbox_reads():
    from hypothesis import given
    from hypothesis import strategies as st

    from cart_cli.wire import cards

    @given(
        card=st.sampled_from(cards.TEST_CARDS),
        month=st.integers(1, 12),
        year=st.integers(2000, 2099),
        cvv=st.from_regex(r"\A[0-9]{3,4}\Z"),
    )
    def round_trip(card, month, year, cvv):
        sent = cards.payload(card.number, "Ada", cvv, month, year)
        assert cards.check_payload(sent) == sent

    round_trip()
    with pytest.raises(ValueError, match="lacks 'verification_value'") as e:
        cards.check_payload({"number": "4111111111111111", "month": "01", "year": "2031"})
    assert "4111" not in str(e.value)


def test_a_plain_amount_is_written_as_an_order_file_writes_it():
    from hypothesis import given
    from hypothesis import strategies as st

    from cart_cli.wire.money import parse_decimal, plain

    assert [plain(c) for c in (2200, -5, 0, 123456)] == ["22.00", "-0.05", "0.00", "1234.56"]

    @given(st.integers(-(10**12), 10**12))
    def round_trips(cents):
        assert parse_decimal(plain(cents)) == cents  # what expect: and order files read

    round_trips()
