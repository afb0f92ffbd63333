"""Digits are ASCII digits wherever a number is read, and the card's rules are written once
(wire/cards) and read the same by the order loader, the card prompt and the sandbox.

``str.isdigit()`` and ``int()`` accept every script's digits: a fullwidth "４１１１..." passed
`validate` and the production guard, and the sandbox placed orders with fullwidth or Arabic-Indic
digits in number, month and year. Such numbers are refused (never converted), and the guard
compares numbers as digits, however they are written."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest
import typer
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cart_cli.core import guard
from cart_cli.core.errors import OrderInvalid, UsageError
from cart_cli.core.order import load_order, parse_item
from cart_cli.wire import cards
from cart_cli.wire.text import has_foreign_digits, is_digits
from tests.helpers import ADDRESS, GOOD_YEAR, TODAY, cli, inputs, order_doc
from tests.test_sandbox import Api, err

FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
VISA = "4111111111111111"
# Every decimal digit of every script the running Python knows, ASCII aside.
FOREIGN_DIGITS = [
    chr(c) for c in range(0x110000) if chr(c).isdecimal() and not "0" <= chr(c) <= "9"
]
NUMBER_MESSAGES = {
    "card number must be 12 to 19 digits (0-9)",
    "card number fails the Luhn check (a typo?)",
}


def a_card(**over) -> dict:
    return {"number": VISA, "name": "A", "month": 8, "year": GOOD_YEAR, "cvv": "123", **over}


def card_problems(tmp_path, card: dict) -> list[str]:
    f = tmp_path / "o.yaml"
    f.write_text(yaml.safe_dump(order_doc(card=card), allow_unicode=True))
    with pytest.raises(OrderInvalid) as e:
        load_order(f, inputs=inputs())
    return [p.message for p in e.value.problems]


@pytest.mark.parametrize("script", [FULLWIDTH, ARABIC_INDIC], ids=["fullwidth", "arabic-indic"])
def test_an_order_file_card_in_another_scripts_digits_is_refused(tmp_path, script):
    card = a_card(
        number=VISA.translate(script),
        month="08".translate(script),
        year=str(GOOD_YEAR).translate(script),
        cvv="123".translate(script),
    )
    assert card_problems(tmp_path, card) == [
        "card number must be 12 to 19 digits (0-9)",
        "month must be 1-12",
        "year must be a number like 2030",
        "CVV must be 3 or 4 digits",
    ]


def test_validate_refuses_a_fullwidth_card_number_without_echoing_it(tmp_path):
    f = tmp_path / "o.yaml"
    fullwidth = VISA.translate(FULLWIDTH)
    f.write_text(yaml.safe_dump(order_doc(card=a_card(number=fullwidth)), allow_unicode=True))
    r = cli(["validate", f])
    assert r.code == 2 and "card.number: card number must be 12 to 19 digits (0-9)" in r.stderr
    assert fullwidth not in r.stdout + r.stderr


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from([*"0123456789 -", *FOREIGN_DIGITS[:200]]), max_size=24))
def test_a_number_read_is_always_ascii_digits(text):
    try:
        number = cards.read_number(text)
    except ValueError as e:
        assert str(e) in NUMBER_MESSAGES  # says what is expected, never what was given
        return
    assert is_digits(number) and 12 <= len(number) <= 19 and cards.luhn_ok(number)
    assert not has_foreign_digits(text)


@given(st.sampled_from(FOREIGN_DIGITS), st.integers(0, 15))
def test_one_foreign_digit_anywhere_refuses_number_cvv_month_and_year(digit, at):
    number = VISA[:at] + digit + VISA[at + 1 :]
    with pytest.raises(ValueError):
        cards.read_number(number)
    for read, good in (
        (cards.read_cvv, "123"),
        (cards.read_month, "08"),
        (cards.read_year, str(GOOD_YEAR)),
    ):
        with pytest.raises(ValueError):
            read(good[: at % len(good)] + digit + good[at % len(good) + 1 :])


@given(st.sampled_from(FOREIGN_DIGITS))
def test_the_production_guard_knows_a_test_card_however_its_digits_are_written(digit):
    script = str.maketrans(
        "0123456789", "".join(chr(ord(digit) - unicodedata.decimal(digit) + d) for d in range(10))
    )
    for card in cards.TEST_CARDS:
        with pytest.raises(UsageError, match=f"test card test:{card.alias} refused"):
            guard.refuse_test_card(card.number.translate(script))


def test_the_production_guard_still_lets_a_real_card_through():
    guard.refuse_test_card("4242424242424242")  # not a sandbox test card


@pytest.mark.parametrize(
    "text", ["SKU:５", "SKU:٣", "SKU:²"], ids=["fullwidth", "arabic-indic", "superscript"]
)
def test_an_item_quantity_in_another_scripts_digits_is_refused(text):
    with pytest.raises(ValueError, match="quantity must be a whole number"):
        parse_item(text)


def test_a_postal_code_in_fullwidth_digits_is_refused(tmp_path):
    f = tmp_path / "o.yaml"
    address = {**ADDRESS, "postal_code": "９８１０１"}
    f.write_text(yaml.safe_dump(order_doc(shipping_info=address), allow_unicode=True))
    with pytest.raises(OrderInvalid) as e:
        load_order(f, inputs=inputs())
    assert [(p.path, p.message) for p in e.value.problems] == [
        ("shipping_info.postal_code", "digits must be 0-9 (not fullwidth or another script's)")
    ]
    f.write_text(yaml.safe_dump(order_doc(shipping_info={**ADDRESS, "postal_code": "SW1A 1AA"})))
    assert load_order(f, inputs=inputs()).shipping_info.postal_code == "SW1A 1AA"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--max-spend", "２５０"], "--max-spend"),
        (["--shard", "１/２"], "--shard"),
    ],
)
def test_batch_numbers_in_another_scripts_digits_are_refused(tmp_path, args, said):
    f = tmp_path / "o.yaml"
    f.write_text(yaml.safe_dump(order_doc()))
    r = cli(["batch", f, "--sandbox", "--ledger", tmp_path / "l.jsonl", *args])
    assert r.code == 2 and said in r.stderr, r.stderr


def test_orders_since_in_fullwidth_digits_is_refused():
    r = cli(["orders", "list", "--since", "３d"])
    assert r.code == 2 and "--since" in r.stderr, r.stderr


# ---- the prompt and the order loader read a card by one set of rules ---


def prompted(answers: list[str], today: date = TODAY) -> dict | None:
    """The card prompt given these lines; None when it asked again (and met end of input)."""
    from cart_cli.cli.commands.place import prompt_card

    runner = CliRunner()
    with runner.isolation(input="".join(a + "\n" for a in answers)):
        try:
            return prompt_card(today)
        except typer.Abort:  # end of input: it asked again
            return None


def loaded(card: dict):
    from cart_cli.core.order import Card

    try:
        return Card.model_validate(card, context={"today": TODAY})
    except Exception:
        return None


DIGITISH = st.text(
    alphabet=st.sampled_from([*"0123456789", " ", "-", "/", "４", "٣", "a"]), max_size=20
)


@settings(max_examples=60, deadline=None)
@given(
    number=st.one_of(
        st.sampled_from([VISA, "4111 1111 1111 1111", VISA.translate(FULLWIDTH)]), DIGITISH
    ),
    month=st.one_of(st.sampled_from(["08", "8", "12", "13", "０８", "00"]), DIGITISH),
    year=st.one_of(
        st.sampled_from([str(GOOD_YEAR), str(GOOD_YEAR)[2:], str(TODAY.year - 1), "٢٠٣٠"]),
        DIGITISH,
    ),
    cvv=st.one_of(st.sampled_from(["123", "1234", "12", "１２３"]), DIGITISH),
)
def test_the_prompt_accepts_exactly_what_an_order_file_accepts(number, month, year, cvv):
    if "/" in month or "/" in year or "\n" in month + year:
        return
    card = prompted([number, "Ada L", f"{month}/{year}", cvv])
    written = loaded({"number": number, "name": "Ada L", "month": month, "year": year, "cvv": cvv})
    assert (card is None) == (written is None)
    if card is not None:
        assert loaded(card) == written


def test_the_prompt_refuses_an_expired_card_at_once():
    last_year = str(TODAY.year - 1)
    assert prompted([VISA, "Ada L", f"08/{last_year}", "123"]) is None
    assert prompted([VISA, "Ada L", f"08/{last_year}", f"08/{GOOD_YEAR}", "123"]) == {
        "number": VISA,
        "name": "Ada L",
        "month": 8,
        "year": GOOD_YEAR,
        "cvv": "123",
    }


# ---- the sandbox reads the card by the same rules ---


@pytest.mark.parametrize("script", [FULLWIDTH, ARABIC_INDIC], ids=["fullwidth", "arabic-indic"])
@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("number", VISA, "Luhn"),
        ("month", "08", "month"),
        ("year", str(GOOD_YEAR), "year"),
        ("cvv", "123", "verification_value"),
    ],
)
def test_the_sandbox_refuses_a_card_in_another_scripts_digits(
    cart_sandbox, script, field, value, said
):
    api = Api(cart_sandbox.url)
    r = api.place(encrypted_card=api.jwe(**{field: value.translate(script)}))
    assert err(r) == (400, "ErrorInvalidInputBody") and said in r.json()["description"]


def test_the_sandbox_refuses_a_fullwidth_quantity(cart_sandbox):
    api = Api(cart_sandbox.url)
    r = api.cart("POST", "/line-items/WS12-XS-Orange/quantity/５", json={})
    assert err(r) == (400, "ErrorInvalidInputBody") and "quantity" in r.json()["description"]
    r = api.cart("POST", "/line-items/WS12-XS-Orange/quantity/2", json={})
    assert r.status_code == 200, r.text


# ---- number options and the sandbox's catalog ---


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--repeat", "３"], "'３' is not a whole number in digits 0-9"),
        (["--concurrency", "٣"], "'٣' is not a whole number in digits 0-9"),
        (["--repeat", "1_0"], "'1_0' is not a whole number"),
        (["--timeout", "１"], "'１' is not a number in digits 0-9"),
        (["--timeout", "nan"], "'nan' is not a number"),
        (["--rate", "1e3"], "'1e3' is not a number"),
    ],
)
def test_number_options_in_another_scripts_digits_are_refused(tmp_path, args, said):
    f = tmp_path / "o.yaml"
    f.write_text(yaml.safe_dump(order_doc()))
    r = cli(["batch", f, "--sandbox", "--ledger", tmp_path / "l.jsonl", *args])
    assert r.code == 2 and args[0] in r.stderr and said in r.stderr, r.stderr
    assert not (tmp_path / "l.jsonl").exists()  # refused before anything ran


def test_ascii_numbers_are_still_read_with_their_ranges(tmp_path):
    f = tmp_path / "o.yaml"
    f.write_text(yaml.safe_dump(order_doc()))
    args = ["batch", f, "--sandbox", "--ledger", tmp_path / "l.jsonl", "--json"]
    r = cli([*args, "--repeat", "2", "--concurrency", "2", "--timeout", "10.5", "--rate", ".5"])
    assert r.code == 0 and r.json()["total"] == 2, r.stderr
    r = cli([*args, "--repeat", "0"])
    assert r.code == 2 and "1<=x<=10000" in r.stderr, r.stderr


def test_every_number_parameter_of_every_command_is_ascii_only():
    from cart_cli.cli import command
    from cart_cli.cli.options import _AsciiNumber

    def numbers(cmd):
        for p in cmd.params:
            if getattr(p.type, "_number_class", None) in (int, float):
                yield cmd.name, p.name, p.type
        for sub in (getattr(cmd, "commands", None) or {}).values():
            yield from numbers(sub)

    found = list(numbers(command()))
    assert len(found) > 10  # --repeat, --concurrency, --timeout, --port, ...
    assert [f[:2] for f in found if not isinstance(f[2], _AsciiNumber)] == []


@pytest.mark.parametrize("stock", ["３", "٣", 2.7, True, -1, "1_0", " 5"])
def test_a_catalog_stock_that_is_not_ascii_digits_is_refused(tmp_path, stock):
    from cart_cli.sandbox.catalog import CatalogError, load_catalog

    doc = {"merchants": {"a.b": {"products": [{"sku": "X", "price": "1.00", "stock": stock}]}}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True))
    with pytest.raises(CatalogError, match=r"c\.yaml: merchants\.a\.b\.products\[0\]: stock"):
        load_catalog(tmp_path / "c.yaml")


@pytest.mark.parametrize(("stock", "read"), [(5, 5), ("5", 5), (0, 0), (None, None)])
def test_a_catalog_stock_in_ascii_digits_is_read(tmp_path, stock, read):
    from cart_cli.sandbox.catalog import load_catalog

    product = {"sku": "X", "price": "1.00"} | ({} if stock is None else {"stock": stock})
    (tmp_path / "c.yaml").write_text(
        yaml.safe_dump({"merchants": {"a.b": {"products": [product]}}})
    )
    assert load_catalog(tmp_path / "c.yaml")["a.b"].products["X"].stock == (read or 0)


def test_the_prompt_says_what_an_empty_name_on_card_should_be():
    from cart_cli.cli.commands.place import prompt_card

    runner = CliRunner()
    answers = [VISA, "", "  ", "Ada L", f"08/{GOOD_YEAR}", "123"]
    with runner.isolation(input="".join(a + "\n" for a in answers)) as (_, err, _both):
        card = prompt_card(TODAY)
        said = err.getvalue().decode()
    assert card["name"] == "Ada L"
    assert said.count("the name on the card is required, as printed on it") == 2, said
