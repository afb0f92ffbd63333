"""The cart flow (clear, add each item, shipping info and method, complete-order) end to end over
real HTTP, beside place-order: the same stages, receipt, JSON and exit codes; "a 200 is not
always an order" in both flows; renewal that cannot get stuck."""

from __future__ import annotations

import json

import pytest
import yaml

from cart_cli.sandbox import Sandbox
from tests.helpers import (
    ADDRESS,
    SAMPLES,
    STALL,
    STALL_TIMEOUT,
    cli,
    sandbox_orders,
    target,
    write_order,
)
from tests.test_batch import multi

CART = ["--flow", "cart"]
MAY = "may or may not have been placed"


@pytest.fixture
def order_file(tmp_path):
    return write_order(tmp_path / "order.yaml")


def place(sandbox, *args, **kw):
    return cli(["place", *args, *target(sandbox)], **kw)


def error_line(r) -> str:
    lines = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    return lines[0]


def test_cart_flow_reports_every_stage_from_each_answer_and_prints_the_receipt(cart_sandbox):
    lines: list[str] = []
    with Sandbox(log=lines.append) as sb:
        r = cli(["place", SAMPLES / "three-items.yaml", *CART, *target(sb)])
        calls = [" ".join(x.split()[:2]) for x in lines]
        orders = sandbox_orders(sb)
    assert r.code == 0, r.stderr
    assert r.stderr.splitlines()[1:] == [  # after the target line
        "creating cart on staging.luma.gift",
        "item added 1/3 WS12-XS-Orange",
        "item added 2/3 MH07-XS-Gray",
        "item added 3/3 24-WG085",
        "shipping set: Free Shipping $0.00",
        "sending order to staging.luma.gift",
        "order placed: 000000001",
    ]
    for text in ("Order 000000001", "Hero Hoodie - Gray XS", "$161.14", "Free Shipping"):
        assert text in r.stdout, text
    assert "Mastercard ending 4444, Grace Hopper" in r.stdout
    d = "/api/v1/domains/staging.luma.gift/cart"
    assert [c for c in calls if "/cart" in c or "order" in c] == [
        f"DELETE {d}/line-items",
        f"POST {d}/line-items/WS12-XS-Orange/quantity/3",
        f"POST {d}/line-items/MH07-XS-Gray/quantity/1",
        f"POST {d}/line-items/24-WG085/quantity/2",
        f"POST {d}/shipping-info",
        "POST /api/v1/payment/domains/staging.luma.gift/complete-order",
    ]  # free shipping was already the cheapest, so no shipping-method call; no place-order
    assert len(orders) == 1 and orders[0]["totals"]["total"] == 16114


def test_cart_flow_json_has_the_place_order_shape_and_every_stage_time(cart_sandbox, order_file):
    r = place(cart_sandbox, order_file, *CART, "--json")
    assert r.code == 0, r.stderr
    doc = r.json()
    assert doc["schema"] == "cart-cli.order-result/1" and doc["ok"] is True
    assert doc["order"]["platform_order_number"] == "000000001"
    assert doc["order"]["cart_status"] == "submitted" and len(doc["request_id"]) == 32
    stages = {"session", "key", "encrypt", "creating-cart", "item-added", "shipping-updated"}
    assert set(doc["stage_ms"]) >= stages | {"submit", "order-placed"}
    assert doc["stage_ms"]["shipping-updated"] <= doc["stage_ms"]["submit"]


def test_the_same_order_gives_the_same_totals_in_both_flows(cart_sandbox):
    a = place(cart_sandbox, SAMPLES / "three-items.yaml", "--json").json()["order"]
    b = place(cart_sandbox, SAMPLES / "three-items.yaml", *CART, "--json").json()["order"]
    keys = ("sub_total", "shipping_total", "tax", "total")
    assert [a[k] for k in keys] == [b[k] for k in keys]
    assert a["line_items"][0]["sku"] == b["line_items"][0]["sku"]


def test_an_order_files_shipping_method_is_chosen(cart_sandbox, tmp_path):
    items = [{"variant_id": "MH07-XS-Gray", "quantity": 2}]  # over $100: free shipping offered
    f = write_order(tmp_path / "o.yaml", items=items, shipping_method="flatrate_flatrate")
    r = place(cart_sandbox, f, *CART, "--json")
    assert r.code == 0, r.stderr
    assert r.json()["order"]["shipping_method"]["sku"] == "flatrate_flatrate"
    r = place(cart_sandbox, write_order(f, items=items), *CART, "--json")
    assert r.json()["order"]["shipping_method"]["sku"] == "freeshipping_freeshipping"


def test_a_shipping_method_not_offered_is_exit_2_and_nothing_placed(cart_sandbox, tmp_path):
    f = write_order(tmp_path / "o.yaml", flow="cart", shipping_method="teleport")
    r = place(cart_sandbox, f, "--json")
    assert r.code == 2
    assert "'teleport' is not offered" in error_line(r) and "flatrate_flatrate" in error_line(r)
    assert r.json()["error"]["outcome"] == "not_placed"
    assert sandbox_orders(cart_sandbox) == []


def test_where_the_flow_comes_from(cart_sandbox, tmp_path, monkeypatch):
    def flow_of(r):
        assert r.code == 0, r.stderr
        progress = r.stderr.split("\n", 1)[1]  # after the target line
        return "cart" if progress.startswith("creating cart") else "place-order"

    plain = write_order(tmp_path / "plain.yaml")
    in_file = write_order(tmp_path / "cart.yaml", flow="cart")
    assert flow_of(place(cart_sandbox, plain)) == "place-order"
    assert flow_of(place(cart_sandbox, in_file)) == "cart"
    assert flow_of(place(cart_sandbox, in_file, "--flow", "place-order")) == "place-order"
    monkeypatch.setenv("CART_CLI_FLOW", "cart")
    assert flow_of(place(cart_sandbox, plain)) == "cart"
    assert flow_of(place(cart_sandbox, write_order(plain, flow="place-order"))) == "place-order"
    monkeypatch.setenv("CART_CLI_FLOW", "carts")
    r = place(cart_sandbox, plain)
    assert r.code == 2 and "CART_CLI_FLOW='carts'" in error_line(r)
    bad = write_order(tmp_path / "bad.yaml", flow="basket")
    r = place(cart_sandbox, bad)
    assert r.code == 2 and "flow: input should be 'place-order', 'cart' or 'auto'" in r.stderr


@pytest.mark.parametrize(
    ("over", "code", "name"),
    [
        ({"card": "test:declined"}, 3, "ErrorPaymentDeclined"),
        ({"items": [{"variant_id": "NOPE-1", "quantity": 1}]}, 4, "ErrorProductNotFound"),
        ({"items": [{"variant_id": "MP05-32-Black", "quantity": 1}]}, 4, "ErrorNotEnoughStock"),
        ({"merchant": "down.luma.gift"}, 5, "ErrorStoreUnavailable"),
        ({"merchant": "captcha.luma.gift"}, 9, "ErrorCaptchaRequired"),
        ({"merchant": "unknown.example"}, 2, "ErrorStoreNotFound"),
    ],
)
def test_cart_flow_failures_have_the_same_exit_codes(cart_sandbox, tmp_path, over, code, name):
    f = write_order(tmp_path / "o.yaml", **over)
    r = place(cart_sandbox, f, *CART, "--json")
    assert r.code == code, r.stderr
    assert name in error_line(r) and "request id" in error_line(r)
    err = r.json()["error"]
    assert err["code"] == name and err["outcome"] == "not_placed"
    assert sandbox_orders(cart_sandbox) == []


def test_captcha_token_reaches_complete_order(cart_sandbox, tmp_path):
    f = write_order(tmp_path / "o.yaml", merchant="captcha.luma.gift")
    assert place(cart_sandbox, f, *CART, "--captcha-token", "tok").code == 0


@pytest.mark.parametrize(
    ("fault", "body"), [("http-500-html", "an HTML page"), ("http-502-empty", "an empty body")]
)
def test_complete_order_gateway_answers_are_unknown(cart_sandbox, order_file, fault, body):
    r = place(cart_sandbox, order_file, *CART, "-H", f"x-sandbox-fault: {fault}", "--json")
    assert r.code == 8
    line = error_line(r)
    assert "complete-order got HTTP" in line and body in line and MAY in line
    assert r.json()["error"]["outcome"] == "unknown"


def test_complete_order_timeout_is_unknown_and_never_resent(cart_sandbox, order_file):
    lines: list[str] = []
    with Sandbox(log=lines.append) as sb:
        fault = ["-H", f"x-sandbox-fault: stall:{STALL}", "--timeout", STALL_TIMEOUT]
        r = cli(["place", order_file, *CART, *target(sb), *fault])
    assert r.code == 8
    assert "complete-order was sent but no answer came back (timed out" in error_line(r)
    assert len([x for x in lines if "complete-order" in x]) == 1


def test_unreachable_server_in_the_cart_flow_is_exit_7(order_file):
    r = cli(["place", order_file, *CART, "--api-url", "http://127.0.0.1:9", "--app-id", "a"])
    assert r.code == 7 and "cannot reach" in error_line(r)


def test_batch_with_flow_cart_in_defaults(cart_sandbox, tmp_path):
    entries = [{"items": [{"variant_id": s, "quantity": 1}]} for s in ("24-MB01", "24-WG085")]
    entries *= 3
    f = multi(tmp_path / "many.yaml", entries, flow="cart")
    r = cli(["batch", f, *target(cart_sandbox), "--concurrency", "4", "--json"])
    assert r.code == 0, r.stderr
    orders = sandbox_orders(cart_sandbox)
    # One cart per device and merchant: concurrent cart-flow orders must not share a cart.
    assert sorted(o["items"][0]["sku"] for o in orders) == ["24-MB01"] * 3 + ["24-WG085"] * 3
    assert all(len(o["items"]) == 1 and o["items"][0]["quantity"] == 1 for o in orders)


def test_batch_flow_flag(cart_sandbox, tmp_path):
    lines: list[str] = []
    with Sandbox(log=lines.append) as sb:
        f = multi(tmp_path / "many.yaml", [{"items": [{"variant_id": "24-MB01", "quantity": 1}]}])
        r = cli(["batch", f, *target(sb), "--flow", "cart"])
    assert r.code == 0, r.stderr
    assert any("complete-order" in x for x in lines)
    assert not any("place-order" in x for x in lines)


def test_dry_run_of_the_cart_flow_lists_every_call(cart_sandbox, order_file):
    r = place(cart_sandbox, order_file, *CART, "--dry-run")
    assert r.code == 0, r.stderr
    doc = r.json()
    assert doc["schema"] == "cart-cli.dry-run/1" and doc["flow"] == "cart"
    assert doc["url"].endswith("/api/v1/payment/domains/staging.luma.gift/complete-order")
    assert set(doc["body"]) == {"encrypted_card", "billing_info"}
    assert doc["body"]["encrypted_card"].startswith("JWE (kid sbx-")
    assert [c["method"] for c in doc["cart_calls"]] == ["DELETE", "POST", "POST", "POST"]
    assert sandbox_orders(cart_sandbox) == []
    r = place(cart_sandbox, order_file, "--dry-run", "--no-sse")
    assert not r.json()["url"].endswith("?sse=true")


# ---- a 200 is not always an order ---

FLOWS = [["--flow", "place-order"], ["--flow", "place-order", "--no-sse"], CART]


@pytest.mark.parametrize("flow", FLOWS, ids=["sse", "no-sse", "cart"])
def test_a_notice_is_not_placed_exit_4_and_says_the_cart_changed(cart_sandbox, order_file, flow):
    r = place(cart_sandbox, order_file, *flow, "-H", "x-sandbox-fault: notice-items-removed")
    assert r.code == 4, r.stderr
    line = error_line(r)
    assert "the cart changed (CART_ITEMS_REMOVED)" in line and "nothing was placed" in line
    assert "order placed" not in r.stderr and r.stdout == ""
    r = place(
        cart_sandbox, order_file, *flow, "-H", "x-sandbox-fault: notice-items-removed", "--json"
    )
    err = r.json()["error"]
    assert err["code"] == "CART_ITEMS_REMOVED" and err["outcome"] == "not_placed"
    assert err["exit_code"] == 4
    assert sandbox_orders(cart_sandbox) == []


@pytest.mark.parametrize("flow", FLOWS, ids=["sse", "no-sse", "cart"])
def test_an_answer_without_order_number_is_unknown_exit_8(cart_sandbox, order_file, flow):
    r = place(cart_sandbox, order_file, *flow, "-H", "x-sandbox-fault: order-without-number")
    assert r.code == 8, r.stderr
    line = error_line(r)
    assert "without an order number or a notice" in line and MAY in line
    assert "order placed" not in r.stderr and r.stdout == ""
    assert len(sandbox_orders(cart_sandbox)) == 1  # it was placed: hence "unknown", not "failed"


def test_cart_checkout_with_a_notice_is_exit_4(cart_sandbox, tmp_path):
    from tests.test_cart_cli import cart

    assert cart(cart_sandbox, "add", "24-MB01").code == 0
    ship = tmp_path / "ship.yaml"
    ship.write_text(yaml.safe_dump(ADDRESS))
    assert cart(cart_sandbox, "ship", ship).code == 0
    r = cart(
        cart_sandbox,
        "checkout",
        "--card",
        "test:visa",
        "-H",
        "x-sandbox-fault: notice-items-removed",
    )
    assert r.code == 4 and "CART_ITEMS_REMOVED" in error_line(r)
    assert cart(cart_sandbox, "show", "--json").json()["cart"]["line_items"] == []


# ---- renewal that cannot get stuck ---


def age_cached_token(cache_dir) -> dict:
    (f,) = cache_dir.glob("session-*.json")
    record = json.loads(f.read_text())
    f.write_text(json.dumps({**record, "expires": record["expires"] - 10_000}))
    return record


@pytest.mark.parametrize("flow", [[], CART], ids=["place-order", "cart"])
def test_a_refused_renewal_starts_a_new_session_and_the_run_succeeds(
    cart_sandbox, order_file, cache_dir, flow
):
    assert place(cart_sandbox, order_file, *flow).code == 0
    before = age_cached_token(cache_dir)  # as if cached long ago: the next run must renew
    r = place(cart_sandbox, order_file, *flow, "-H", "x-sandbox-fault: renew-token-expired")
    assert r.code == 0, r.stderr
    (f,) = cache_dir.glob("session-*.json")
    after = json.loads(f.read_text())
    assert after["device_id"] != before["device_id"]  # a new device, not the stuck token
    assert after["access_token"] != before["access_token"]
    assert len(sandbox_orders(cart_sandbox)) == 2
    assert place(cart_sandbox, order_file, *flow).code == 0  # and the cache works again


def test_an_invalid_app_id_during_renewal_is_still_exit_6(order_file, cache_dir):
    with Sandbox() as sb:
        args = ["place", order_file, "--api-url", sb.url, "--payment-url", sb.url]
        assert cli([*args, "--app-id", "good"]).code == 0
    with Sandbox(app_ids=frozenset({"other"}), port=int(sb.url.rsplit(":", 1)[1])) as sb2:
        args = ["place", order_file, "--api-url", sb2.url, "--payment-url", sb2.url]
        age_cached_token(cache_dir)
        r = cli([*args, "--app-id", "good"])
    assert r.code == 6 and "InvalidAppId" in error_line(r)


def test_a_bad_app_id_in_the_cart_flow_is_exit_6(order_file):
    with Sandbox(app_ids=frozenset({"right"})) as sb:
        where = ["--api-url", sb.url, "--payment-url", sb.url, "--app-id", "wrong"]
        r = cli(["place", order_file, *CART, *where, "--json"])
        assert sandbox_orders(sb) == []
    assert r.code == 6 and "InvalidAppId" in error_line(r)
    assert r.json()["error"]["outcome"] == "not_placed"


def test_the_cart_flow_sample(cart_sandbox):
    r = place(cart_sandbox, SAMPLES / "cart-flow.yaml", "--json")
    assert r.code == 0, r.stderr
    assert r.stderr.split("\n", 1)[1].startswith("creating cart on staging.luma.gift\n")
    assert r.json()["order"]["shipping_method"]["sku"] == "flatrate_flatrate"


@pytest.mark.parametrize("concurrency", ["1", "3"])
def test_after_an_unknown_outcome_the_merchants_cart_is_left_alone(tmp_path, concurrency):
    """complete-order may still be running after an unknown outcome: the next cart-flow order
    on that merchant would empty its cart. It is not sent, and says why."""
    lines: list[str] = []
    entries = [{"items": [{"variant_id": s, "quantity": 1}]} for s in ("24-MB01", "24-WG085")]
    f = multi(tmp_path / "two.yaml", entries * 2, flow="cart")
    with Sandbox(log=lines.append) as sb:
        fault = ["-H", "x-sandbox-fault: http-502-empty"]
        r = cli(["batch", f, *target(sb), "--concurrency", concurrency, *fault, "--json"])
    assert r.code == 8
    orders = r.json()["orders"]
    assert sorted(o["outcome"] for o in orders) == ["not_placed"] * 3 + ["unknown"]
    busy = [o for o in orders if o["outcome"] == "not_placed"]
    assert {o["error"]["code"] for o in busy} == {"CartBusy"}
    assert all(o["error"]["exit_code"] == 5 for o in busy)
    assert "an earlier cart-flow order on staging.luma.gift" in busy[0]["error"]["message"]
    assert len([x for x in lines if "complete-order" in x]) == 1
    assert len([x for x in lines if "DELETE" in x]) == 1  # only the first cart was emptied
