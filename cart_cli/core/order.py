"""The order: its model, and how it is assembled from a YAML file and/or flags and validated.

Validation is complete before any network call, and every problem names file, field and line.
Card values never appear in a message: problems say what is wrong, never what was given (the
shapes are checked by core/shapes.py, as pydantic did, without its import cost)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from cart_cli.core import shapes
from cart_cli.core.errors import OrderInvalid, Problem
from cart_cli.core.expect import Expect
from cart_cli.core.shapes import Field, Invalid, Shape
from cart_cli.core.yamldoc import (
    CARD,
    CARD_FIELDS,
    MAX_BYTES,
    Doc,
    decode,
    fmt_path,
    load_file,
    load_text,
)
from cart_cli.wire import cards
from cart_cli.wire.text import has_foreign_digits, is_digits

# The shapes are the sandbox's (wire/models.py, pydantic), read here without pydantic: the same
# rules and the same messages (tests/test_shapes.py compares them on generated input).
DOMAIN_PATTERN = r"(?i)^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$"
Domain = shapes.text(strip=True, lower=True, max_length=253, pattern=DOMAIN_PATTERN)
Text = shapes.text(strip=True, min_length=1, max_length=cards.NAME_MAX)
Email = shapes.text(strip=True, max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _ascii_digits(text: str) -> str:
    if has_foreign_digits(text):
        raise ValueError("digits must be 0-9 (not fullwidth or another script's)")
    return text


PostalCode = shapes.text(strip=True, min_length=1, max_length=200, after=_ascii_digits)
OptionalText = shapes.optional(Text)


class Address(Shape):
    FIELDS = (
        Field("first_name", Text),
        Field("last_name", Text),
        Field("email", Email),
        Field("phone", Text),
        Field("address1", Text),
        Field("address2", OptionalText, required=False),
        Field("company", OptionalText, required=False),
        Field("city", Text),
        Field("state_or_province", Text),
        Field("country", Text),
        Field("postal_code", PostalCode),
    )
    __slots__ = tuple(f.name for f in FIELDS)


class Item(Shape):
    """An order line: the merchant's variant id (``sku`` is read as it, as the sandbox does)."""

    FIELDS = (
        Field("variant_id", Text, keys=("variant_id", "sku")),
        Field("quantity", shapes.integer(ge=1, le=10_000, strict=True)),
    )
    __slots__ = tuple(f.name for f in FIELDS)


SAME_AS_SHIPPING = "same_as_shipping"
FIELDS = (
    "merchant",
    "items",
    "shipping_info",
    "billing_info",
    "card",
    "captcha_token",
    "flow",
    "shipping_method",
    "expect",
)
# How an order is placed (docs/api.md, "Two flows"): one place-order call, or the cart calls and
# then complete-order.
# auto: place-order, and the cart flow once if the server has no place-order route.
PLACE_ORDER_FLOW, CART_FLOW, AUTO_FLOW = "place-order", "cart", "auto"
FLOWS = (PLACE_ORDER_FLOW, CART_FLOW, AUTO_FLOW)
CARD_EXPECTED = "expected fields " + ", ".join(CARD_FIELDS)


@dataclass(frozen=True)
class Inputs:
    """What reading an order needs from outside: no process globals are read here.

    ``read_stdin``: the bytes of standard input (None: there is none); ``prompt_card``: asks for
    the card on a terminal, checking its expiry against the day it is given (None: not a
    terminal)."""

    env: Mapping[str, str]
    today: date
    read_stdin: Callable[[int], bytes] | None = None
    prompt_card: Callable[[date], dict] | None = None


class Card(Shape):
    # The rules are the card's own (wire/cards): the prompt and the sandbox read it the same way.
    FIELDS = (
        Field("number", shapes.secret(shapes.before(cards.read_number))),
        Field("name", Text),
        Field("month", shapes.before(cards.read_month, shapes.integer())),
        Field("year", shapes.before(cards.read_year, shapes.integer())),
        Field("cvv", shapes.secret(shapes.before(cards.read_cvv))),
    )
    __slots__ = tuple(f.name for f in FIELDS)

    def check(self, context) -> None:
        today: date = (context or {})["today"]  # given by validate(): no process clock
        cards.check_expiry(self.month, self.year, today)

    def payload(self) -> dict:
        """The JWE plaintext (docs/api.md, "The encrypted card"): every value a string."""
        return cards.payload(
            self.number.get_secret_value(),
            self.name,
            self.cvv.get_secret_value(),
            self.month,
            self.year,
        )

    @property
    def last_four(self) -> str:
        return self.number.get_secret_value()[-4:]


def _same_as_shipping(v: Any) -> Any:
    return None if v == SAME_AS_SHIPPING else v


class Order(Shape):
    FIELDS = (
        Field("merchant", Domain),
        Field("items", shapes.list_of(Item.checker(), min_length=1, max_length=200)),
        Field("shipping_info", Address.checker()),
        Field(
            "billing_info",
            shapes.before(_same_as_shipping, shapes.optional(Address.checker())),
            required=False,
        ),
        Field("card", Card.checker()),
        Field("captcha_token", OptionalText, required=False),
        # None: --flow, else CART_CLI_FLOW, else place-order
        Field("flow", shapes.optional(shapes.literal(*FLOWS)), required=False),
        # cart flow: a method sku; None: the cheapest offered
        Field("shipping_method", OptionalText, required=False),
        Field("expect", shapes.optional(Expect.checker()), required=False),  # never sent
    )
    __slots__ = tuple(f.name for f in FIELDS)

    @property
    def billing(self) -> Address:
        return self.billing_info or self.shipping_info

    def wire_body(self, encrypted_card: str) -> dict:
        body = {
            "encrypted_card": encrypted_card,
            "shipping_info": self.shipping_info.model_dump(exclude_none=True),
            "billing_info": self.billing.model_dump(exclude_none=True),
            "items": [{"variant_id": i.variant_id, "quantity": i.quantity} for i in self.items],
        }
        if self.captcha_token:
            body["captcha_token"] = self.captcha_token
        return body


# ---- assembling an order from a file and flags ---


@dataclass
class Overrides:
    """What flags add to or replace in an order file."""

    merchant: str | None = None
    items: list[str] = field(default_factory=list)  # "SKU[:QTY]"
    shipping: str | None = None  # a YAML/JSON address file
    billing: str | None = None  # a file, or same_as_shipping
    card: str | None = None  # test:ALIAS, a YAML/JSON file, or "-" (stdin)
    captcha_token: str | None = None


def test_card(alias: str, today: date, holder: str = "Test Tester") -> dict:
    """A sandbox test card, by alias ('visa' or 'test:visa'); expiry safely after ``today``."""
    name = alias.removeprefix(cards.ALIAS_PREFIX)
    card = cards.BY_ALIAS.get(name)
    if card is None:
        known = ", ".join(cards.ALIAS_PREFIX + a for a in cards.BY_ALIAS)
        shown = "that alias" if CARD_DIGITS.search(alias) else repr(alias)  # never a number
        raise KeyError(f"unknown test card {shown}; known: {known}")
    cvv = "1234" if card.brand == "American Express" else "123"
    return {
        "number": card.number,
        "name": holder,
        "month": 12,
        "year": today.year + 3,
        "cvv": cvv,
    }


_ERROR_TEXT = {
    "missing": "is required",
    "extra_forbidden": "unknown field (check the spelling)",
}
_PATTERN_TEXT = {
    "merchant": "must be a domain like staging.luma.gift",
    "email": "must be an e-mail address like ada@example.com",
}


def _message(err: dict) -> str:
    if err["type"] in _ERROR_TEXT:
        return _ERROR_TEXT[err["type"]]
    if err["type"] == "value_error":
        return str(err["ctx"]["error"])
    if err["type"] == "string_pattern_mismatch":
        return _PATTERN_TEXT.get(str(err["loc"][-1]), "is not in the expected form")
    return err["msg"][:1].lower() + err["msg"][1:]


def _card_message(err: dict) -> str | None:
    """The message for a problem with the card's shape, which never names a key or value of it
    (a key may be the card number itself): None when the problem is about one known field."""
    loc = err["loc"]
    if loc[:1] != (CARD,):
        return None
    if len(loc) == 1:
        if err["type"] not in ("model_type", "dict_type"):
            return None  # e.g. missing, or expired: a whole-card message that shows no value
        return f"a card is a mapping of fields, not a single value: {CARD_EXPECTED}"
    if loc[1] in CARD_FIELDS:
        return None
    return f"a field that is not a card field (not shown: it may be the number); {CARD_EXPECTED}"


class _Sources:
    """Which file each top-level field came from, to name file and line in problems.

    ``entry``: the path of this order inside a multi-order file, for fields it lacks."""

    def __init__(self, main: Doc, entry: tuple = ()) -> None:
        self.main = main
        self.entry = entry
        self.by_field: dict[str, tuple[Doc, tuple]] = {}

    def set(self, name: str, doc: Doc, prefix: tuple = ()) -> None:
        self.by_field[name] = (doc, prefix)

    def problem(self, path: tuple, message: str) -> Problem:
        if path and path[0] in self.by_field:
            doc, prefix = self.by_field[path[0]]
            where = (*prefix, *path[1:])
            shown = where if self.entry and doc is self.main else path  # orders[1].items...
            return Problem(doc.file, fmt_path(shown), doc.line(where), message)
        full = (*self.entry, *path)
        return Problem(self.main.file, fmt_path(full), self.main.line(full), message)


# How to give a card, as each command takes one: said with "card: is required".
CARD_WAYS = "pass --card test:ALIAS, a card file, or - (stdin), or run on a terminal to be asked"
BATCH_CARD_WAYS = (
    "batch takes no --card: write card: test:ALIAS (or a card mapping) in the order or in defaults:"
)


def validate(
    data: Any,
    sources: _Sources,
    today: date,
    earlier: list[Problem] = (),
    explained: set[str] = frozenset(),
    card_ways: str = CARD_WAYS,
) -> Order:
    """Build the Order or raise OrderInvalid with every problem; cards expire relative to
    ``today``.

    ``explained``: field paths whose problems were already reported (a missing file or ${VAR});
    ``card_ways``: how to give a card, when there is none."""
    problems = list(earlier)
    if not isinstance(data, dict):
        problems.append(sources.problem((), "an order must be a mapping of fields"))
        raise OrderInvalid(problems)
    try:
        order = Order.model_validate(data, context={"today": today})
    except Invalid as e:
        seen = {p.path for p in problems if p.path} | set(explained)
        errors = e.errors(include_input=False, include_url=False)
        shape = any(_card_message(err) for err in errors)  # it lists the fields a card needs
        for err in errors:
            loc = err["loc"]
            message = _card_message(err)
            if message:
                loc = (CARD,)
            elif shape and loc[:1] == (CARD,) and err["type"] == "missing":
                continue
            path_text = fmt_path(loc)
            if any(
                path_text == s or path_text.startswith(s + ".") or path_text.startswith(s + "[")
                for s in seen
            ):
                continue  # already explained (e.g. a missing ${VAR})
            if not message and loc == (CARD,) and err["type"] == "missing":
                message = f"is required: {card_ways}"
            problem = sources.problem(loc, message or _message(err))
            if problem not in problems:
                problems.append(problem)
        raise OrderInvalid(problems) from None
    if problems:
        raise OrderInvalid(problems)
    return order


def parse_item(text: str, flag: str = "--item") -> dict:
    """'SKU[:QTY]' -> {"variant_id", "quantity"}; ValueError names ``flag``."""
    sku, sep, qty = text.rpartition(":")
    if sep and is_digits(qty):
        return {"variant_id": sku, "quantity": int(qty)}
    if sep and not is_digits(qty) and sku:
        raise ValueError(f"{flag} {text!r}: quantity must be a whole number (SKU:QTY)")
    return {"variant_id": text, "quantity": 1}


def load_order(
    path: str | Path | None, overrides: Overrides | None = None, *, inputs: Inputs
) -> Order:
    """An order from a file and/or flags, fully validated. Raises OrderInvalid, never sends."""
    main = load_file(path, inputs.env) if path else Doc("flags", data={})
    if isinstance(main.data, dict) and "orders" in main.data:
        problem = main.problem(("orders",), "a multi-order file: use `cart-cli batch`")
        raise OrderInvalid([problem])
    return _assemble_doc(main, overrides or Overrides(), inputs, CARD_WAYS)


def _assemble_doc(doc: Doc, ov: Overrides, inputs: Inputs, card_ways: str) -> Order:
    """One order from a whole document (its own problems count as already explained)."""
    explained = {fmt_path(p) for p in doc.bad_paths}
    return _assemble(doc.data, _Sources(doc), list(doc.problems), explained, ov, inputs, card_ways)


BATCH_KEYS = {"defaults", "orders"}


def load_orders(path: str | Path, *, inputs: Inputs) -> list[tuple[int, Order]]:
    """Every order of a file: a single order, or ``defaults:`` merged into each of ``orders:``.

    Returns (index, order) pairs; raises OrderInvalid with the problems of every entry."""
    return [(index, order) for index, order, _ in load_entries(path, inputs=inputs)]


def load_entries(path: str | Path, *, inputs: Inputs) -> list[tuple[int, Order, Any]]:
    """Like ``load_orders``, with each entry's data as written (defaults merged in; test-card
    aliases not expanded, no dates computed): what a batch job's identity is made of."""
    inputs = Inputs(inputs.env, inputs.today)  # no stdin, no prompt: many orders, one terminal
    doc = load_file(path, inputs.env)
    data = doc.data
    if not (isinstance(data, dict) and "orders" in data):
        return [(0, _assemble_doc(doc, Overrides(), inputs, BATCH_CARD_WAYS), data)]
    problems = list(doc.problems)
    for key in data:
        if key not in BATCH_KEYS:
            problems.append(
                doc.problem(
                    (key,), "unknown field in a multi-order file (expected defaults: and orders:)"
                )
            )
    defaults = data.get("defaults") or {}
    entries = data.get("orders")
    if not isinstance(defaults, dict):
        problems.append(doc.problem(("defaults",), "must be a mapping of order fields"))
        defaults = {}
    if not isinstance(entries, list) or not entries:
        problems.append(doc.problem(("orders",), "must be a non-empty list of orders"))
        raise OrderInvalid(problems)
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            problems.append(doc.problem(("orders", i), "must be a mapping of order fields"))
            continue
        sources = _Sources(doc, entry=("orders", i))
        merged = {**defaults, **entry}
        for name in merged:
            prefix = ("orders", i, name) if name in entry else ("defaults", name)
            sources.set(str(name), doc, prefix)
        # Problems already said, as paths within this entry: orders[i].X and defaults.X are X.
        explained = {fmt_path(p[2:]) for p in doc.bad_paths if p[:2] == ("orders", i)}
        explained |= {fmt_path(p[1:]) for p in doc.bad_paths if p[:1] == ("defaults",)}
        try:
            order = _assemble(merged, sources, [], explained, Overrides(), inputs, BATCH_CARD_WAYS)
            out.append((i, order, merged))
        except OrderInvalid as e:
            problems.extend(p for p in e.problems if p not in problems)
    if problems:
        raise OrderInvalid(problems)
    return out


def _assemble(
    data: Any,
    sources: _Sources,
    problems: list[Problem],
    explained: set[str],
    ov: Overrides,
    inputs: Inputs,
    card_ways: str,
) -> Order:
    """Apply flag overrides and test-card aliases to raw order data, then validate it;
    ``card_ways``: how this command takes a card, said when there is none."""
    if not isinstance(data, dict):
        raise OrderInvalid([*problems, sources.problem((), "an order must be a mapping of fields")])
    data = dict(data)

    def flag_problem(flag: str, message: str) -> None:
        problems.append(Problem(f"--{flag}", "", None, message))

    def side_file(name: str, file: str) -> Any:
        try:
            doc = load_file(file, inputs.env)
        except OrderInvalid as e:
            problems.extend(e.problems)
            explained.add(name)
            return None
        problems.extend(doc.problems)
        sources.set(name, doc)
        return doc.data

    if ov.merchant:
        data["merchant"] = ov.merchant
        sources.set("merchant", Doc("--merchant"))
    if ov.items:
        items = []
        for text in ov.items:
            try:
                items.append(parse_item(text))
            except ValueError as e:
                flag_problem("item", str(e))
                explained.add("items")
        data["items"] = items
        sources.set("items", Doc("--item"))
    if ov.shipping:
        data["shipping_info"] = side_file("shipping_info", ov.shipping)
    if ov.billing:
        if ov.billing == SAME_AS_SHIPPING:
            data["billing_info"] = SAME_AS_SHIPPING
        else:
            data["billing_info"] = side_file("billing_info", ov.billing)
    if ov.captcha_token:
        data["captcha_token"] = ov.captcha_token

    if ov.card:
        data["card"] = _card_from_flag(ov.card, inputs, sources, problems, explained)
        if data["card"] is None:
            explained.add("card")
    elif "card" not in data and inputs.prompt_card is not None:
        data["card"] = inputs.prompt_card(inputs.today)
        sources.set("card", Doc("the card prompt"))

    card = data.get("card")
    if isinstance(card, str) and card.startswith(cards.ALIAS_PREFIX):
        ship = data.get("shipping_info")
        holder = "Test Tester"
        if isinstance(ship, dict) and ship.get("first_name") and ship.get("last_name"):
            holder = f"{ship['first_name']} {ship['last_name']}"
        try:
            data["card"] = test_card(card, inputs.today, holder)
        except KeyError as e:
            problems.append(sources.problem(("card",), e.args[0]))
            explained.add("card")
    return validate(data, sources, inputs.today, problems, explained, card_ways)


def _model_problems(e: Invalid, sources: _Sources, prefix: tuple) -> list[Problem]:
    return [
        sources.problem((*prefix, *err["loc"]), _message(err))
        for err in e.errors(include_input=False, include_url=False)
    ]


def load_address(path: str | Path, env: Mapping[str, str]) -> Address:
    """An address file (or an order file: its shipping_info), validated like an order's."""
    doc = load_file(path, env)
    data, prefix = doc.data, ()
    if isinstance(data, dict) and isinstance(data.get("shipping_info"), dict):
        data, prefix = data["shipping_info"], ("shipping_info",)
    sources = _Sources(doc)
    problems = list(doc.problems)
    try:
        address = Address.model_validate(data)
    except Invalid as e:
        raise OrderInvalid(problems + _model_problems(e, sources, prefix)) from None
    if problems:
        raise OrderInvalid(problems)
    return address


def load_card(value: str | None, *, inputs: Inputs, holder: str = "Test Tester") -> Card:
    """A card as ``place --card`` takes it (test:ALIAS, a file, - for stdin; else the prompt)."""
    sources = _Sources(Doc("--card"))
    problems: list[Problem] = []
    if value:
        data = _card_from_flag(value, inputs, sources, problems, set())
    elif inputs.prompt_card is not None:
        data = inputs.prompt_card(inputs.today)
        sources.set("card", Doc("the card prompt"))
    else:
        raise OrderInvalid([Problem("--card", "", None, f"no card: {CARD_WAYS}")])
    if isinstance(data, str) and data.startswith(cards.ALIAS_PREFIX):
        try:
            data = test_card(data, inputs.today, holder)
        except KeyError as e:
            problems.append(Problem("--card", "", None, e.args[0]))
    if problems:
        raise OrderInvalid(problems)
    return validate_card(data, sources, inputs.today)


def validate_card(data: Any, sources: _Sources, today: date) -> Card:
    try:
        return Card.model_validate(data, context={"today": today})
    except Invalid as e:
        errors = e.errors(include_input=False, include_url=False)
        problems = []
        for err in errors:
            err = {**err, "loc": (CARD, *err["loc"])}
            message = _card_message(err)
            problem = sources.problem((CARD,) if message else err["loc"], message or _message(err))
            if problem not in problems:
                problems.append(problem)
        raise OrderInvalid(problems) from None


STDIN = "<stdin>"


def _stdin_text(inputs: Inputs) -> str:
    """The card from standard input, bounded like a file; a clear problem when there is none."""
    if inputs.read_stdin is None:
        raise OrderInvalid(
            [Problem("--card", "", None, "- means standard input, and there is none")]
        )
    return decode(inputs.read_stdin(MAX_BYTES + 1), STDIN)


CARD_DIGITS = re.compile(r"\d(?:[ -]?\d){11,}")  # 12 digits or more, maybe grouped


def _card_from_flag(
    value: str, inputs: Inputs, sources: _Sources, problems: list, explained: set[str]
) -> Any:
    # A card number anywhere in the value ("NUMBER:CVV", "test:NUMBER" too) is refused without
    # echoing it, unless the value names an existing file (a file name may hold a timestamp).
    if CARD_DIGITS.search(value) and not os.path.isfile(value):
        problems.append(
            Problem(
                "--card",
                "",
                None,
                "a card number is never accepted as a flag "
                "value (it would leak into ps and shell history); use a file, "
                "- for stdin, or a test:ALIAS",
            )
        )
        return None
    if value.startswith(cards.ALIAS_PREFIX):
        sources.set("card", Doc("--card"))
        return value
    if value == "-" and inputs.prompt_card is not None:
        # Standard input is a terminal: YAML typed there would leave the number and CVV on the
        # screen and in its scrollback. The prompt asks for them with echo off.
        sources.set("card", Doc("the card prompt"))
        return inputs.prompt_card(inputs.today)
    try:
        if value == "-":
            doc = load_text(_stdin_text(inputs), STDIN, inputs.env, card=True)
        else:
            doc = load_file(value, inputs.env, card=True)
    except OrderInvalid as e:
        problems.extend(e.problems)
        return None
    problems.extend(doc.problems)
    explained.update(p.path for p in doc.problems)  # e.g. card.cvv: quote it
    sources.set("card", doc)
    if isinstance(doc.data, dict) and isinstance(doc.data.get("card"), dict):
        sources.set("card", doc, ("card",))
        return doc.data["card"]
    return doc.data
