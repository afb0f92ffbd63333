"""Loading and validating orders: every check, with file, field path and line."""

from __future__ import annotations

import pytest
import yaml

from cart_cli.core.errors import OrderInvalid
from cart_cli.core.order import Overrides, load_order, load_orders
from tests.helpers import ADDRESS, GOOD_YEAR, TODAY, cli, inputs, order_doc, write_order

ORDER_YAML = f"""\
merchant: staging.luma.gift
items:
  - variant_id: WS12-XS-Orange
    quantity: 2
shipping_info:
  first_name: Ada
  last_name: Lovelace
  email: ada@example.com
  phone: "2065551212"
  address1: 1 Main St
  address2: Apt 2
  company: ACME
  city: Seattle
  state_or_province: WA
  country: US
  postal_code: "98101"
billing_info: same_as_shipping
card: {{number: "${{CART_CARD_NUMBER}}", name: Ada Lovelace, month: 8, year: {GOOD_YEAR}, \
cvv: "${{CART_CARD_CVV}}"}}
captcha_token: optional
"""
ENV = {"CART_CARD_NUMBER": "4111 1111 1111 1111", "CART_CARD_CVV": "123"}


def a_card(**over) -> dict:
    """A valid card (a test number, expiring after the tests' today), with ``over`` changed."""
    return {
        "number": "4111111111111111",
        "name": "A",
        "month": 1,
        "year": GOOD_YEAR,
        "cvv": "123",
        **over,
    }


def load(path, overrides=None, env=None, **kw):
    return load_order(path, overrides, inputs=inputs(env, **kw))


def problems(path, overrides=None, env=None, **kw) -> list[str]:
    with pytest.raises(OrderInvalid) as e:
        load(path, overrides, env, **kw)
    return [str(p) for p in e.value.problems]


def test_full_order_file_with_env_substitution(tmp_path):
    f = tmp_path / "o.yaml"
    f.write_text(ORDER_YAML)
    o = load(f, env=ENV)
    assert o.merchant == "staging.luma.gift" and o.items[0].quantity == 2
    assert o.shipping_info.address2 == "Apt 2" and o.shipping_info.company == "ACME"
    assert o.billing == o.shipping_info and o.captcha_token == "optional"
    assert o.card.payload() == {
        "number": "4111111111111111",
        "name": "Ada Lovelace",
        "verification_value": "123",
        "month": "08",
        "year": str(GOOD_YEAR),
    }
    body = o.wire_body("JWE")
    assert body["billing_info"]["company"] == "ACME"
    assert body["items"] == [{"variant_id": "WS12-XS-Orange", "quantity": 2}]
    assert "4111" not in repr(o) and "123" not in repr(o.card)


def test_missing_env_var_names_file_field_and_line(tmp_path):
    f = tmp_path / "o.yaml"
    f.write_text(ORDER_YAML)
    assert problems(f, env={"CART_CARD_CVV": "123"}) == [
        f"{f}:18: card.number: environment variable CART_CARD_NUMBER is not set"
    ]


def test_every_validation_error_at_once_with_lines(tmp_path):
    f = tmp_path / "o.yaml"
    f.write_text(
        "merchant: not a domain\n"
        "items:\n"
        "  - variant_id: WS12-XS-Orange\n"
        "    quantity: 0\n"
        "  - quantity: 1\n"
        "shipping_info:\n"
        "  first_name: Ada\n"
        "  email: nope\n"
        "  colour: red\n"
        "card:\n"
        "  number: '4111111111111112'\n"
        "  name: Ada\n"
        "  month: 13\n"
        f"  year: {GOOD_YEAR}\n"
        "  cvv: '12'\n"
    )
    got = problems(f)
    expected = [
        f"{f}:1: merchant: must be a domain like staging.luma.gift",
        f"{f}:4: items[0].quantity: input should be greater than or equal to 1",
        f"{f}:5: items[1].variant_id: is required",
        f"{f}:8: shipping_info.email: must be an e-mail address like ada@example.com",
        f"{f}:9: shipping_info.colour: unknown field (check the spelling)",
        f"{f}:11: card.number: card number fails the Luhn check (a typo?)",
        f"{f}:13: card.month: month must be 1-12",
        f"{f}:15: card.cvv: CVV must be 3 or 4 digits",
    ]
    for line in expected:
        assert line in got
    for field in (
        "last_name",
        "phone",
        "address1",
        "city",
        "state_or_province",
        "country",
        "postal_code",
    ):
        assert f"{f}:6: shipping_info.{field}: is required" in got


def test_expired_card_and_two_digit_year(tmp_path):
    last_year = TODAY.year - 1
    f = write_order(
        tmp_path / "o.yaml",
        card=a_card(year=last_year),
    )
    assert any(f"card expired (01/{last_year})" in p for p in problems(f))
    f = write_order(
        tmp_path / "o.yaml",
        card=a_card(month="08", year=GOOD_YEAR % 100),
    )
    assert load(f).card.payload()["year"] == str(GOOD_YEAR)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("items", [], "items: list should have at least 1 item"),
        ("items", "WS12", "items: input should be a valid list"),
        ("merchant", 42, "merchant: input should be a valid string"),
        ("shipping_info", "Seattle", "shipping_info: input should be a valid dictionary"),
        ("card", "a card", "card: a card is a mapping of fields, not a single value"),
        ("billing_info", "same", "billing_info: input should be a valid dictionary"),
    ],
)
def test_wrong_types_get_a_clear_message(tmp_path, field, value, message):
    f = write_order(tmp_path / "o.yaml", **{field: value})
    assert any(message in p for p in problems(f)), problems(f)


def test_test_card_aliases(tmp_path):
    for alias, number in [
        ("test:visa", "4111111111111111"),
        ("test:amex", "378282246310005"),
        ("test:declined", "4000000000000002"),
        ("test:expired", "4000000000000069"),
    ]:
        o = load(write_order(tmp_path / "o.yaml", card=alias))
        assert o.card.number.get_secret_value() == number
        assert o.card.name == "Ada Lovelace"  # the shipping name
    assert (
        "unknown test card 'test:nope'"
        in problems(write_order(tmp_path / "o.yaml", card="test:nope"))[0]
    )


def test_flags_only_order(tmp_path):
    ship = tmp_path / "ship.yaml"
    ship.write_text(yaml.safe_dump(ADDRESS))
    o = load(
        None,
        Overrides(
            merchant="Staging.Luma.Gift",
            items=["WS12-XS-Orange:3", "24-MB01"],
            shipping=str(ship),
            card="test:mastercard",
        ),
    )
    assert o.merchant == "staging.luma.gift"
    assert [(i.variant_id, i.quantity) for i in o.items] == [("WS12-XS-Orange", 3), ("24-MB01", 1)]


def test_flags_override_the_file(tmp_path):
    f = write_order(tmp_path / "o.yaml")
    bill = tmp_path / "bill.yaml"
    bill.write_text(yaml.safe_dump({**ADDRESS, "first_name": "Bill"}))
    o = load(f, Overrides(items=["24-MB01:2"], billing=str(bill), captcha_token="c"))
    assert [i.variant_id for i in o.items] == ["24-MB01"] and o.billing.first_name == "Bill"
    assert o.captcha_token == "c"


def test_flag_problems_name_the_flag(tmp_path):
    got = problems(
        None,
        overrides=Overrides(
            merchant="a.b",
            items=["X:two"],
            shipping=str(tmp_path / "missing.yaml"),
            card="4111111111111111",
        ),
    )
    assert "--item: --item 'X:two': quantity must be a whole number (SKU:QTY)" in got
    assert f"{tmp_path / 'missing.yaml'}: no such file" in got
    assert any(p.startswith("--card: a card number is never accepted as a flag value") for p in got)
    assert not any("4111111111111111" in p for p in got)


def test_problem_in_a_side_file_names_that_file_and_line(tmp_path):
    ship = tmp_path / "ship.yaml"
    ship.write_text(yaml.safe_dump({**ADDRESS, "email": "bad"}, sort_keys=False))
    got = problems(write_order(tmp_path / "o.yaml"), overrides=Overrides(shipping=str(ship)))
    assert got == [f"{ship}:3: shipping_info.email: must be an e-mail address like ada@example.com"]


def test_card_from_file_and_from_stdin(tmp_path):
    card = {"number": "5555555555554444", "name": "M", "month": 1, "year": GOOD_YEAR, "cvv": "999"}
    cf = tmp_path / "card.json"
    cf.write_text(yaml.safe_dump(card))
    f = write_order(tmp_path / "o.yaml")
    assert load(f, Overrides(card=str(cf))).card.last_four == "4444"
    o = load(f, Overrides(card="-"), read_stdin=lambda n: yaml.safe_dump({"card": card}).encode())
    assert o.card.last_four == "4444"
    got = problems(f, overrides=Overrides(card="-"), read_stdin=lambda n: b"number: 1\n")
    assert any("<stdin>" in p for p in got)


def test_prompted_card_is_used_when_none_is_given(tmp_path):
    doc = order_doc()
    del doc["card"]
    f = tmp_path / "o.yaml"
    f.write_text(yaml.safe_dump(doc))
    asked = []

    def prompt(today):
        asked.append(1)
        return {
            "number": "4111111111111111",
            "name": "P",
            "month": "12",
            "year": str(GOOD_YEAR),
            "cvv": "321",
        }

    assert load(f, prompt_card=prompt).card.name == "P" and asked == [1]
    assert any("card: is required" in p for p in problems(f))


def test_typed_substitution_and_escape(tmp_path):
    f = write_order(
        tmp_path / "o.yaml",
        items=[{"variant_id": "${SKU}", "quantity": "${QTY}"}],
        captcha_token="$${LITERAL}",
    )
    f.write_text(f.read_text().replace("'${QTY}'", "${QTY}"))  # unquoted: takes YAML's type
    o = load(f, env={"SKU": "24-MB01", "QTY": "3"})
    assert o.items[0].variant_id == "24-MB01" and o.items[0].quantity == 3
    assert o.captcha_token == "${LITERAL}"


def test_multi_order_file_merges_defaults_and_reports_per_entry(tmp_path):
    f = tmp_path / "many.yaml"
    f.write_text(
        yaml.safe_dump(
            {
                "defaults": {
                    "merchant": "staging.luma.gift",
                    "shipping_info": ADDRESS,
                    "card": "test:visa",
                },
                "orders": [
                    {"items": [{"variant_id": "A", "quantity": 1}]},
                    {"items": [{"variant_id": "B", "quantity": 2}], "card": "test:amex"},
                ],
            },
            sort_keys=False,
        )
    )
    orders = load_orders(f, inputs=inputs())
    assert [(i, o.items[0].variant_id, o.card.last_four) for i, o in orders] == [
        (0, "A", "1111"),
        (1, "B", "0005"),
    ]
    f.write_text(f.read_text().replace("quantity: 2", "quantity: -1"))
    with pytest.raises(OrderInvalid) as e:
        load_orders(f, inputs=inputs())
    (p,) = e.value.problems
    assert (
        p.path == "orders[1].items[0].quantity"
        and p.line == f.read_text().splitlines().index("    quantity: -1") + 1
    )
    with pytest.raises(OrderInvalid, match="use `cart-cli batch`"):
        load(f)


# ---- hostile files ---


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (b"   \n# only a comment\n", "file is empty"),
        (b"\xff\xfe\x00bin", "binary data"),
        (b"merchant: caf\xe9\n", "not UTF-8 text"),
        (b"merchant: [unclosed\n", "not valid YAML"),
        (b"- just\n- a list\n", "an order must be a mapping of fields"),
        (b"a: 1\na: 2\n", "duplicate key"),
        (b"a: !!python/object:os.system x\n", "the YAML tag !!python/object:os.system is not"),
        (b"!!python/object:os.system {}\n", "the YAML tag !!python/object:os.system is not"),
        (b"---\na: 1\n---\nb: 2\n", "a second YAML document (after ---): one file holds one"),
        (b"[" * 5000, "nested deeper than 40 levels"),
        (b"[" * 45 + b"]" * 45, "nested deeper than 40 levels"),
        (b"merchant: {[1]: 2}\n", "merchant: keys must be plain text"),
        (b"merchant: {<<: 1}\n", "merchant: bad merge key"),
        (b"merchant: 2001-13-45\n", "merchant: not a date"),
        (b"1.5: x\n", "1.5: unknown field"),
    ],
)
def test_hostile_files_get_a_clear_problem(tmp_path, content, message):
    f = tmp_path / "o.yaml"
    f.write_bytes(content)
    assert any(message in p for p in problems(f)), problems(f)


def test_huge_file_and_alias_bomb_are_refused_quickly(tmp_path):
    f = tmp_path / "big.yaml"
    f.write_bytes(b"# " + b"x" * (2 << 20))
    assert "larger than 1024 KiB" in problems(f)[0]
    lol = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lol.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    f.write_text("\n".join(lol) + "\n")
    assert "too many aliases" in problems(f)[0]


def test_directory_and_missing_file(tmp_path):
    assert problems(tmp_path) == [f"{tmp_path}: is a directory, not an order file"]
    assert problems(tmp_path / "nope.yaml") == [f"{tmp_path / 'nope.yaml'}: no such file"]


def test_missing_variable_in_a_multi_order_entry_is_reported_once(tmp_path):
    f = tmp_path / "many.yaml"
    f.write_text(
        yaml.safe_dump(
            {
                "defaults": {"merchant": "staging.luma.gift", "shipping_info": ADDRESS},
                "orders": [
                    {
                        "items": [{"variant_id": "A", "quantity": 1}],
                        "card": {
                            "number": "${NOT_SET_HERE}",
                            "name": "A",
                            "month": 1,
                            "year": GOOD_YEAR,
                            "cvv": "123",
                        },
                    }
                ],
            },
            sort_keys=False,
        )
    )
    with pytest.raises(OrderInvalid) as e:
        load_orders(f, inputs=inputs())
    assert [p.message for p in e.value.problems] == ["environment variable NOT_SET_HERE is not set"]


# ---- secrets and values ---


def test_a_card_key_or_value_is_never_echoed(tmp_path):
    f = write_order(tmp_path / "o.yaml")
    for text in (b"4111111111111111: 737\n", b"card: {4111111111111111: 737}\n"):
        got = problems(f, Overrides(card="-"), read_stdin=lambda n, t=text: t)
        assert got == [
            "<stdin>:1: card: a field that is not a card field (not shown: it may be the "
            "number); expected fields number, name, month, year, cvv"
        ], got
    card = tmp_path / "card.yaml"
    card.write_text(
        "number: '4111111111111111'\n'4111 1111 1111 1111': x\n'4111 1111 1111 1111': y\n"
    )
    got = problems(f, Overrides(card=str(card)))
    assert f"{card}:3: card: duplicate key (first at line 2); keep one" in got
    assert not any("4111" in p for p in got), got
    # the same in an order file: the key under card: is not shown
    f.write_text(f.read_text().replace("card: test:visa", "card: {4111111111111111: 737}"))
    assert not any("4111" in p for p in problems(f))


def test_a_bare_number_on_stdin_is_not_a_card(tmp_path):
    f = write_order(tmp_path / "o.yaml")
    got = problems(f, Overrides(card="-"), read_stdin=lambda n: b"4111111111111111\n")
    assert got == [
        "<stdin>:1: card: a card is a mapping of fields, not a single value: expected fields "
        "number, name, month, year, cvv"
    ]


@pytest.mark.parametrize(
    ("field", "written"),
    [
        ("cvv", "0737"),
        ("cvv", "737"),
        ("number", "4111111111111111"),
        ("postal_code", "02134"),
        ("phone", "2065551212"),
        ("phone", "206.555"),
    ],
)
def test_digits_yaml_would_read_as_a_number_are_refused_not_converted(tmp_path, field, written):
    doc = order_doc(card=a_card())
    f = tmp_path / "o.yaml"
    text = yaml.safe_dump(doc, sort_keys=False)
    quoted = {
        "cvv": "'123'",
        "number": "'4111111111111111'",
        "postal_code": "'98101'",
        "phone": "'2065551212'",
    }
    text = text.replace(f"{field}: {quoted[field]}", f"{field}: {written}")
    assert f"{field}: {written}" in text
    f.write_text(text)
    got = problems(f)
    assert len(got) == 1 and f'quote it ({field}: "...")' in got[0], got
    assert written not in got[0]
    f.write_text(text.replace(f"{field}: {written}", f'{field}: "{written}"'))
    if field == "cvv" and written == "0737":
        assert load(f).card.payload()["verification_value"] == "0737"


def test_a_variable_in_a_digit_field_stays_text(tmp_path):
    f = write_order(
        tmp_path / "o.yaml",
        card=a_card(cvv="${CVV}"),
    )
    f.write_text(f.read_text().replace("'${CVV}'", "${CVV}"))
    assert load(f, env={"CVV": "0737"}).card.payload()["verification_value"] == "0737"


def test_a_prompted_cvv_problem_does_not_talk_about_yaml(tmp_path):
    doc = order_doc()
    del doc["card"]
    f = tmp_path / "o.yaml"
    f.write_text(yaml.safe_dump(doc))
    card = a_card(name="P", month="12", year=str(GOOD_YEAR), cvv="1")
    assert problems(f, prompt_card=lambda today: card) == [
        "the card prompt: card.cvv: CVV must be 3 or 4 digits"
    ]


def test_stdin_that_is_not_utf8(tmp_path):
    f = write_order(tmp_path / "o.yaml")
    got = problems(f, Overrides(card="-"), read_stdin=lambda n: b"name: A\nnumber: \xff\n")
    assert got == ["<stdin>: not UTF-8 text (a byte that is not UTF-8 on line 2); save it as UTF-8"]


def test_no_stdin_at_all(tmp_path):
    got = problems(write_order(tmp_path / "o.yaml"), Overrides(card="-"))
    assert got == ["--card: - means standard input, and there is none"]


def test_a_duplicate_key_points_at_the_second_one(tmp_path):
    f = tmp_path / "o.yaml"
    f.write_text("merchant: a.b\nitems: []\nmerchant: c.d\n")
    assert f"{f}:3: merchant: duplicate key (first at line 1); keep one" in problems(f)


def test_problems_in_a_multi_order_file_name_the_entry(tmp_path):
    f = tmp_path / "many.yaml"
    f.write_text(
        "defaults:\n  merchant: staging.luma.gift\n  card: test:visa\n"
        "orders:\n  - {}\n  - items: [{variant_id: A, quantity: 0}]\n"
    )
    with pytest.raises(OrderInvalid) as e:
        load_orders(f, inputs=inputs())
    got = [str(p) for p in e.value.problems]
    assert f"{f}:5: orders[0].items: is required" in got
    assert f"{f}:5: orders[0].shipping_info: is required" in got
    assert f"{f}:6: orders[1].items[0].quantity: input should be greater than or equal to 1" in got


@pytest.mark.parametrize(
    "value",
    [
        "4111111111111111:737",
        "4111 1111 1111 1111,08/30,737",
        "card=4111-1111-1111-1111",
        "test:4111111111111111:737",  # was "unknown test card 'test:4111...'"
    ],
)
def test_a_card_number_inside_a_card_flag_value_is_never_echoed(value):
    """Not only a bare number: "number:cvv" was echoed whole as "... : no such file"."""
    got = problems(None, overrides=Overrides(merchant="a.b", items=["X:1"], card=value))
    assert any(p.startswith("--card: a card number is never accepted as a flag value") for p in got)
    assert not any("1111" in p or "737" in p for p in got), got


def test_a_card_file_whose_name_has_a_long_number_is_still_read(tmp_path):
    path = tmp_path / "card-202611291234567.yaml"
    path.write_text("number: '4111111111111111'\nname: A B\nmonth: 1\nyear: 2099\ncvv: '737'\n")
    got = problems(None, overrides=Overrides(merchant="a.b", items=["X:1"], card=str(path)))
    assert not any(p.startswith("--card") for p in got), got


def test_an_unknown_test_card_alias_in_a_file_never_echoes_a_number(tmp_path):
    f = tmp_path / "o.yaml"
    doc = yaml.safe_load(ORDER_YAML)
    doc["card"] = "test:4111 1111 1111 1111"
    f.write_text(yaml.safe_dump(doc, sort_keys=False))
    got = problems(f)
    assert any("unknown test card that alias; known: test:visa" in p for p in got), got
    assert not any("1111" in p for p in got), got


def test_a_missing_card_says_how_to_give_one(tmp_path):

    doc = order_doc()
    del doc["card"]
    f = tmp_path / "nc.yaml"
    f.write_text(yaml.safe_dump(doc, sort_keys=False))
    ways = "--card test:ALIAS, a card file, or - (stdin), or run on a terminal to be asked"
    r = cli(["place", f])  # no terminal: nobody to ask
    assert r.code == 2 and f"nc.yaml:1: card: is required: pass {ways}" in r.stderr
    r = cli(["place", "--merchant", "staging.luma.gift", "--item", "SKU"])
    assert r.code == 2 and f"flags: card: is required: pass {ways}" in r.stderr
    # batch takes no --card (and asks nobody): the card goes in the file
    f.write_text(yaml.safe_dump({"defaults": {}, "orders": [doc]}, sort_keys=False))
    r = cli(["batch", f])
    assert (
        r.code == 2
        and "card: is required: batch takes no --card: write card: test:ALIAS" in r.stderr
    )
    assert "--card test:ALIAS" not in r.stderr
