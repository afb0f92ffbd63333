"""cart-cli products show and cart set/remove against the sandbox over real HTTP
(docs/flows.md, "The cart commands"; docs/api.md, "Products")."""

from __future__ import annotations

import pytest

from tests.helpers import cli, target

M = ["--merchant", "staging.luma.gift"]


def lines(doc) -> list[tuple[str, int]]:
    return [(x["sku"], x["quantity"]) for x in doc["cart"]["line_items"]]


@pytest.mark.parametrize(
    "query",
    ["radiant-tee", "WS12-M-Blue", "https://staging.luma.gift/radiant-tee.html"],
    ids=["handle", "variant-sku", "url"],
)
def test_products_show_lists_the_variants_an_order_uses(cart_sandbox, query):
    r = cli(["products", "show", *M, query, "--json", *target(cart_sandbox)])
    assert r.code == 0, r.stderr
    doc = r.json()
    assert doc["schema"] == "cart-cli.product/1" and doc["ok"] is True
    product = doc["product"]
    assert product["handle"] == "radiant-tee" and product["title"] == "Radiant Tee"
    assert [(v["id"], v["price"], v["available"]) for v in product["variants"]] == [
        ("WS12-XS-Orange", 2200, True),
        ("WS12-S-Orange", 2200, True),
        ("WS12-M-Blue", 2400, False),
    ]
    assert product["variants"][0]["add_to_cart_ref"] == {"variant_id": "WS12-XS-Orange"}


def test_products_show_on_a_terminal_shows_each_variant(cart_sandbox):
    r = cli(["products", "show", *M, "radiant-tee", *target(cart_sandbox)])
    assert r.code == 0
    out = r.stdout
    assert "Radiant Tee (radiant-tee) on staging.luma.gift" in out
    assert "https://staging.luma.gift/radiant-tee.html" in out
    for text in ("WS12-XS-Orange", "$22.00", "in stock", "WS12-M-Blue", "out of stock"):
        assert text in out
    assert '{"variant_id":"WS12-S-Orange"}' in out


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["no-such-product"], 4, "ErrorProductNotFound"),
        (["https://nowhere.example/x.html"], 2, "must be a product page of --merchant"),
        (["https://captcha.luma.gift/radiant-tee.html"], 2, "must be a product page of --merchant"),
        (["  "], 2, "give a product handle"),
    ],
)
def test_products_show_failures(cart_sandbox, args, code, text):
    r = cli(["products", "show", *M, *args, *target(cart_sandbox)])
    assert r.code == code and text in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "url", ["https://other.example/x.html", "https://luma.gift/x.html", "https://:80/x.html"]
)
def test_a_page_of_another_host_is_refused_before_anything_is_sent(url):
    # Nothing listens at the target: a request sent would be exit 7, not 2.
    unreachable = ["--api-url", "http://127.0.0.1:9", "--app-id", "test"]
    r = cli(["products", "show", "--merchant", "staging.luma.gift", url, *unreachable])
    assert r.code == 2, r.stderr
    assert f"{url} must be a product page of --merchant staging.luma.gift" in r.stderr


def test_products_show_failure_as_json(cart_sandbox):
    r = cli(["products", "show", *M, "nope", "--json", *target(cart_sandbox)])
    doc = r.json()
    assert r.code == 4 and doc["ok"] is False and doc["error"]["code"] == "ErrorProductNotFound"


def test_products_show_with_a_throwaway_sandbox():
    r = cli(["products", "show", *M, "juno-jacket", "--json", "--sandbox"])
    assert r.code == 0 and r.json()["product"]["variants"][0]["id"] == "WJ06-S-Blue"


def test_cart_set_and_remove(cart_sandbox):
    t = target(cart_sandbox)
    assert cli(["cart", "add", *M, "WS12-XS-Orange:2", "24-MB01", *t]).code == 0
    r = cli(["cart", "set", *M, "WS12-XS-Orange:5", "MH07-XS-Gray", "--json", *t])
    assert r.code == 0, r.stderr
    assert lines(r.json()) == [("WS12-XS-Orange", 5), ("24-MB01", 1), ("MH07-XS-Gray", 1)]
    r = cli(["cart", "remove", *M, "24-MB01", "--json", *t])
    assert lines(r.json()) == [("WS12-XS-Orange", 5), ("MH07-XS-Gray", 1)]
    r = cli(["cart", "set", *M, "MH07-XS-Gray:0", *t])
    assert r.code == 0 and "MH07-XS-Gray" not in r.stdout and "WS12-XS-Orange" in r.stdout


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["set", "WS12-XS-Orange:101"], 4, "Only 100 left of WS12-XS-Orange"),
        (["set", "NOPE:1"], 4, "ErrorProductNotFound"),
        (["set", "WS12-XS-Orange:x"], 2, "quantity must be a whole number"),
        (["remove", "NOPE"], 4, "ErrorProductNotFound"),
    ],
)
def test_cart_set_refusals_leave_the_cart(cart_sandbox, args, code, text):
    t = target(cart_sandbox)
    cli(["cart", "add", *M, "WS12-XS-Orange:2", *t])
    r = cli(["cart", args[0], *M, *args[1:], *t])
    assert r.code == code and text in r.stderr, r.stderr
    assert lines(cli(["cart", "show", *M, "--json", *t]).json()) == [("WS12-XS-Orange", 2)]


def test_cart_set_checks_every_item_before_the_first_call(cart_sandbox):
    t = target(cart_sandbox)
    cli(["cart", "add", *M, "WS12-XS-Orange:2", *t])
    r = cli(["cart", "set", *M, "WS12-XS-Orange:3", "24-MB01:x", *t])
    assert r.code == 2
    assert lines(cli(["cart", "show", *M, "--json", *t]).json()) == [("WS12-XS-Orange", 2)]
