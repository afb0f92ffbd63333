"""The sandbox over real HTTP: every endpoint, every error name, SSE, tokens, stock."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from cart_cli.core.crypto import PublicKey, encrypt_card
from cart_cli.sandbox import Sandbox
from tests.helpers import ADDRESS, GOOD_YEAR, http

P = "/api/v1/payment"


class Api:
    """A bare HTTP helper (deliberately not cart-cli's client) for speaking to the sandbox."""

    def __init__(self, url: str, app_id: str = "tests") -> None:
        self.url = url
        r = http.post(f"{url}/api/v1/browser-session", headers={"x-firmly-app-id": app_id})
        assert r.status_code == 200, r.text
        self.session = r.json()
        self.token = self.session["access_token"]

    def h(self, **extra) -> dict:
        return {"x-firmly-authorization": self.token, **extra}

    def key(self) -> PublicKey:
        r = http.get(f"{self.url}{P}/key")
        return PublicKey(r.headers["x-firmly-kid"], r.json())

    def jwe(self, number="4111111111111111", month="08", year=str(GOOD_YEAR), cvv="123", **extra):
        card = {
            "number": number,
            "name": "Ada Lovelace",
            "verification_value": cvv,
            "month": month,
            "year": year,
            **extra,
        }
        return encrypt_card(card, self.key())

    def body(self, items=None, **over) -> dict:
        body = {
            "encrypted_card": self.jwe(),
            "shipping_info": dict(ADDRESS),
            "billing_info": dict(ADDRESS),
            "items": items or [{"variant_id": "WS12-XS-Orange", "quantity": 2}],
        }
        body.update(over)
        return body

    def place(self, domain="staging.luma.gift", body=None, sse=False, headers=None, **kw):
        url = f"{self.url}{P}/domains/{domain}/place-order" + ("?sse=true" if sse else "")
        return http.post(
            url,
            json=body if body is not None else self.body(**kw),
            headers=self.h(**(headers or {})),
            stream=sse,
        )

    def cart(self, method, path="", domain="staging.luma.gift", **kw):
        url = f"{self.url}/api/v1/domains/{domain}/cart{path}"
        return http.request(method, url, headers=self.h(), **kw)


def sse_events(resp) -> list[tuple[str, dict]]:
    """Parse an SSE body strictly per the wire format the contract gives."""
    events = []
    for block in resp.content.decode().split("\n\n"):
        name, data = None, []
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        if name:
            events.append((name, json.loads("\n".join(data))))
    return events


@pytest.fixture
def api(cart_sandbox):
    return Api(cart_sandbox.url)


def stock(sandbox, sku, domain="staging.luma.gift"):
    return http.get(f"{sandbox.url}/__sandbox/stock").json()[domain][sku]


# ---- browser session and tokens ---


def test_browser_session_gives_a_signed_token_with_device_and_expiry(cart_sandbox):
    r = http.post(f"{cart_sandbox.url}/api/v1/browser-session", headers={"x-firmly-app-id": "app"})
    s = r.json()
    assert r.status_code == 200 and s["device_created"] is True
    assert s["access_token"].count(".") == 2 and s["expires_in"] == 3600
    assert abs(s["expires"] - (cart_sandbox.config.clock() + 3600)) < 5  # by its own clock
    assert len(s["device_id"]) == 36


def test_missing_app_id_is_invalid_app_id_with_message(cart_sandbox):
    r = http.post(f"{cart_sandbox.url}/api/v1/browser-session")
    assert r.status_code == 400
    assert r.json() == {
        "code": 400,
        "error": "InvalidAppId",
        "message": "Application ID is invalid or not found",
    }


def test_app_id_allow_list():
    with Sandbox(app_ids=frozenset({"good"})) as sb:
        ok = http.post(f"{sb.url}/api/v1/browser-session", headers={"x-firmly-app-id": "good"})
        bad = http.post(f"{sb.url}/api/v1/browser-session", headers={"x-firmly-app-id": "bad"})
    assert ok.status_code == 200
    assert bad.json()["error"] == "InvalidAppId"


def test_renewal_keeps_the_device_and_its_cart(api, cart_sandbox):
    api.cart("POST", "/line-items/24-MB01/quantity/1")
    r = http.post(
        f"{cart_sandbox.url}/api/v1/browser-session",
        headers={"x-firmly-app-id": "tests"},
        json={"access_token": api.token},
    )
    renewed = r.json()
    assert renewed["device_id"] == api.session["device_id"]
    assert renewed["device_created"] is False
    api.token = renewed["access_token"]
    assert api.cart("GET").json()["line_items"][0]["sku"] == "24-MB01"


def test_renewing_garbage_is_401_with_message(cart_sandbox):
    r = http.post(
        f"{cart_sandbox.url}/api/v1/browser-session",
        headers={"x-firmly-app-id": "x"},
        json={"access_token": "nope"},
    )
    assert r.status_code == 401 and r.json()["error"] == "InvalidToken" and "message" in r.json()


def test_expired_token_is_401_invalid_token_and_renewal_works():
    now = [time.time()]
    with Sandbox(token_ttl=1, clock=lambda: now[0]) as sb:
        api = Api(sb.url)
        assert api.cart("GET").status_code == 200
        now[0] += 2.1  # the sandbox's clock, moved instead of waiting
        r = api.cart("GET")
        assert r.status_code == 401 and r.json()["error"] == "InvalidToken"
        renewed = http.post(
            f"{sb.url}/api/v1/browser-session",
            headers={"x-firmly-app-id": "tests"},
            json={"access_token": api.token},
        ).json()
        assert renewed["device_id"] == api.session["device_id"]
        api.token = renewed["access_token"]
        assert api.cart("GET").status_code == 200


def test_auth_errors(api, cart_sandbox):
    url = f"{cart_sandbox.url}/api/v1/domains/staging.luma.gift/cart"
    assert http.get(url).json()["error"] == "MissingAuthHeader"
    assert http.get(url, headers={"x-firmly-authorization": "junk"}).json()["error"] == (
        "InvalidToken"
    )
    with Sandbox() as other:  # a token signed by another server
        foreign = Api(other.url).token
    r = http.get(url, headers={"x-firmly-authorization": foreign})
    assert r.status_code == 401 and r.json()["error"] == "ErrorUnauthorized"
    bearer = http.get(url, headers={"x-firmly-authorization": f"Bearer {api.token}"})
    assert bearer.status_code == 200


# ---- public key ---


def test_public_key_in_three_formats_with_kid_header(cart_sandbox):
    jwk = http.get(f"{cart_sandbox.url}{P}/key")
    kid = jwk.headers["x-firmly-kid"]
    assert jwk.json()["kid"] == kid and jwk.json()["kty"] == "RSA" and jwk.json()["e"] == "AQAB"
    pem = http.get(f"{cart_sandbox.url}{P}/key?format=PEM")
    rsa = http.get(f"{cart_sandbox.url}{P}/key?format=RSA")
    assert pem.headers["content-type"].startswith("text/plain")
    assert pem.text.startswith("-----BEGIN PUBLIC KEY-----")
    assert rsa.text.startswith("-----BEGIN RSA PUBLIC KEY-----")
    assert pem.headers["x-firmly-kid"] == rsa.headers["x-firmly-kid"] == kid
    assert http.get(f"{cart_sandbox.url}{P}/key?format=XML").status_code == 400


# ---- place-order: JSON ---


def test_place_order_json_answer_has_the_whole_order(api, cart_sandbox):
    r = api.place()
    assert r.status_code == 200
    o = r.json()
    assert o["platform_order_number"] == "000000001" and o["cart_status"] == "submitted"
    assert o["display_name"] == "Luma Store" and o["platform_id"] == "magento"
    assert o["shop_id"] == "staging.luma.gift" and o["urls"]["thank_you_page"]
    assert o["submitted_at"].endswith("Z")
    line = o["line_items"][0]
    assert line["sku"] == "WS12-XS-Orange" and line["base_sku"] == "WS12" and line["quantity"] == 2
    assert line["price"] == {"currency": "USD", "value": 22.0, "symbol": "$", "number": 2200}
    assert line["line_price"]["number"] == 4400
    assert o["payment_summary"] == {
        "payment_type": "CreditCard",
        "card_type": "Visa",
        "last_four": "1111",
        "bin": "411111",
        "card_holder_name": "Ada Lovelace",
        "month": 8,
        "year": GOOD_YEAR,
    }
    # 44.00 + 5.00 flat rate + WA tax 10.25 % of 44.00 = 4.51 (half-up)
    assert [
        o[k]["number"] for k in ("sub_total", "shipping_total", "tax", "cart_discount", "total")
    ] == [4400, 500, 451, 0, 5351]
    assert o["shipping_method"]["sku"] == "flatrate_flatrate"
    assert api.place().json()["platform_order_number"] == "000000002"
    assert stock(cart_sandbox, "WS12-XS-Orange") == 96


@pytest.mark.parametrize(
    ("state", "tax"), [("WA", 1128), ("Washington", 1128), ("CA", 798), ("NY", 976), ("OR", 0)]
)
def test_tax_by_state_and_free_shipping_over_100(api, state, tax):
    # 5 x 22.00 = 110.00: free shipping, and tax rounded half-up to the cent
    ship = {**ADDRESS, "state_or_province": state}
    o = api.place(items=[{"variant_id": "WS12-XS-Orange", "quantity": 5}], shipping_info=ship)
    o = o.json()
    assert o["sub_total"]["number"] == 11000 and o["tax"]["number"] == tax
    assert o["shipping_method"]["sku"] == "freeshipping_freeshipping"
    assert o["shipping_total"]["number"] == 0 and o["total"]["number"] == 11000 + tax


def test_order_numbers_are_per_merchant(api):
    assert api.place().json()["platform_order_number"] == "000000001"
    captcha = api.place(domain="captcha.luma.gift", captcha_token="ok").json()
    assert captcha["platform_order_number"] == "000000001"


def test_sku_is_accepted_in_place_of_variant_id(api):
    r = api.place(items=[{"sku": "24-MB01", "quantity": 1}])
    assert r.json()["line_items"][0]["sku"] == "24-MB01"


# ---- place-order: SSE ---


def test_sse_wire_format_and_event_order(api):
    items = [
        {"variant_id": "WS12-XS-Orange", "quantity": 1},
        {"variant_id": "24-MB01", "quantity": 2},
    ]
    r = api.place(sse=True, items=items)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    raw = r.content.decode()
    assert "event: creating-cart\n" in raw and raw.endswith("\n\n")
    events = sse_events(r)
    assert [e for e, _ in events] == [
        "creating-cart",
        "item-added",
        "item-added",
        "shipping-updated",
        "order-placed",
    ]
    assert events[0][1] == {"domain": "staging.luma.gift"}
    assert len(events[1][1]["line_items"]) == 1 and len(events[2][1]["line_items"]) == 2
    assert events[3][1]["shipping_info"]["city"] == "Seattle"
    assert events[3][1]["shipping_method_options"][0]["sku"] == "flatrate_flatrate"
    assert events[4][1]["platform_order_number"] == "000000001"


def test_latency_spaces_the_events():
    with Sandbox(latency=0.1) as sb:
        api = Api(sb.url)
        start = time.monotonic()
        events = sse_events(api.place(sse=True))
        assert len(events) == 4
        assert time.monotonic() - start >= 0.4  # a lower bound: 4 steps x 0.1 s


# ---- every error of docs/api.md, "Errors" ---


def err(resp):
    return resp.status_code, resp.json()["error"]


def test_invalid_input_body_names_the_problem(api, cart_sandbox):
    url = f"{cart_sandbox.url}{P}/domains/staging.luma.gift/place-order"
    r = http.post(url, data=b"{not json", headers=api.h())
    assert err(r) == (400, "ErrorInvalidInputBody") and "JSON" in r.json()["description"]
    r = api.place(shipping_info={**ADDRESS, "email": None})
    assert err(r) == (400, "ErrorInvalidInputBody")
    assert "shipping_info.email" in r.json()["description"]
    r = api.place(items=[{"variant_id": "WS12-XS-Orange", "quantity": 0}])
    assert "items.0.quantity" in r.json()["description"]
    r = api.place(body={**api.body(), "items": []})
    assert err(r) == (400, "ErrorInvalidInputBody") and "items" in r.json()["description"]


@pytest.mark.parametrize(
    ("card", "problem"),
    [
        ({"number": "4111111111111112"}, "Luhn"),
        ({"month": "13"}, "month"),
        ({"month": "008"}, "month"),
        ({"year": "030"}, "year"),
        ({"year": "2030x"}, "year"),
        ({"cvv": "12"}, "verification_value"),
    ],
)
def test_bad_card_payload_is_invalid_input(api, card, problem):
    r = api.place(encrypted_card=api.jwe(**card))
    assert err(r) == (400, "ErrorInvalidInputBody") and problem in r.json()["description"]
    assert "4111" not in r.text  # never echoes the card


def test_malformed_or_foreign_jwe_is_invalid_input(api):
    r = api.place(encrypted_card="a.b.c")
    assert "5 parts" in r.json()["description"]
    r = api.place(encrypted_card="!!!.b.c.d.e")
    assert err(r) == (400, "ErrorInvalidInputBody")
    with Sandbox() as other:
        foreign = Api(other.url).jwe()
    r = api.place(encrypted_card=foreign)
    assert err(r) == (400, "ErrorInvalidInputBody") and "kid" in r.json()["description"]


def _raw_jwe(api, plaintext: bytes, **kw) -> str:
    from jose import jwe

    key = api.key()
    opts = {"encryption": "A256GCM", "algorithm": "RSA-OAEP-256", "kid": key.kid, **kw}
    token = jwe.encrypt(plaintext, key.jwk, **opts)
    return token.decode() if isinstance(token, bytes) else token


@pytest.mark.parametrize(
    ("plaintext", "kw", "problem"),
    [
        (b'{"number": "1"}', {"algorithm": "RSA-OAEP"}, "must use alg RSA-OAEP-256"),
        (b"not json", {}, "payload is not a JSON object"),
        (b'["a", "list"]', {}, "payload is not a JSON object"),
        (b'{"number": "4111111111111111"}', {}, "payload lacks 'verification_value'"),
    ],
)
def test_the_sandbox_refuses_a_card_payload_it_cannot_use(api, plaintext, kw, problem):
    r = api.place(encrypted_card=_raw_jwe(api, plaintext, **kw))
    assert err(r) == (400, "ErrorInvalidInputBody") and problem in r.json()["description"]
    assert "4111" not in r.text


def test_product_not_found_and_not_enough_stock_are_error_events(api, cart_sandbox):
    events = sse_events(api.place(sse=True, items=[{"variant_id": "NOPE", "quantity": 1}]))
    assert events[-1] == (
        "error",
        {"code": 404, "error": "ErrorProductNotFound", "description": "Product NOPE was not found"},
    )
    events = sse_events(api.place(sse=True, items=[{"variant_id": "MT07-M-Gray", "quantity": 2}]))
    assert events[-1][1]["error"] == "ErrorNotEnoughStock"
    assert events[-1][1]["description"] == "Only 1 left of MT07-M-Gray"
    assert err(api.place(items=[{"variant_id": "MP05-32-Black", "quantity": 1}])) == (
        400,
        "ErrorNotEnoughStock",
    )
    assert err(api.place(items=[{"variant_id": "NOPE", "quantity": 1}])) == (
        404,
        "ErrorProductNotFound",
    )
    assert stock(cart_sandbox, "MT07-M-Gray") == 1


@pytest.mark.parametrize(
    ("number", "month", "year", "reason"),
    [
        ("4000000000000002", "08", str(GOOD_YEAR), "card declined"),
        ("4000000000009995", "08", str(GOOD_YEAR), "insufficient funds"),
        ("4000000000000069", "08", str(GOOD_YEAR), "expired card"),
        ("4111111111111111", "01", "2020", "expired card"),
    ],
)
def test_declines_keep_stock_and_place_nothing(api, cart_sandbox, number, month, year, reason):
    body = api.body(encrypted_card=api.jwe(number=number, month=month, year=year))
    events = sse_events(api.place(sse=True, body=body))
    assert [e for e, _ in events][-2:] == ["shipping-updated", "error"]
    assert events[-1][1]["error"] == "ErrorPaymentDeclined"
    assert reason in events[-1][1]["description"]
    body = api.body(encrypted_card=api.jwe(number=number, month=month, year=year))
    assert err(api.place(body=body)) == (402, "ErrorPaymentDeclined")
    assert stock(cart_sandbox, "WS12-XS-Orange") == 100
    assert http.get(f"{cart_sandbox.url}/__sandbox/orders").json()["orders"] == []


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("5555555555554444", "Mastercard"),
        ("378282246310005", "American Express"),
        ("6011111111111117", "Discover"),
    ],
)
def test_other_approved_cards(api, number, brand):
    body = api.body(encrypted_card=api.jwe(number=number, cvv="1234"))
    assert api.place(body=body).json()["payment_summary"]["card_type"] == brand


def test_store_unavailable_and_unknown_store(api):
    events = sse_events(api.place(sse=True, domain="down.luma.gift"))
    assert events == [
        ("creating-cart", {"domain": "down.luma.gift"}),
        (
            "error",
            {
                "code": 503,
                "error": "ErrorStoreUnavailable",
                "description": "Luma Store is temporarily unavailable",
            },
        ),
    ]
    assert err(api.place(domain="down.luma.gift")) == (503, "ErrorStoreUnavailable")
    assert err(api.cart("GET", domain="down.luma.gift")) == (503, "ErrorStoreUnavailable")
    assert err(api.place(domain="nowhere.example")) == (404, "ErrorStoreNotFound")


def test_captcha_required(api):
    assert err(api.place(domain="captcha.luma.gift")) == (400, "ErrorCaptchaRequired")
    assert api.place(domain="captcha.luma.gift", captcha_token="tok").status_code == 200


def test_unknown_route_is_a_json_error(cart_sandbox):
    r = http.get(f"{cart_sandbox.url}/api/v1/nope")
    assert r.status_code == 404 and r.json()["error"] == "RouteNotFound"


# ---- the existing-cart flow ---


def test_existing_cart_flow_end_to_end(api, cart_sandbox):
    assert api.cart("GET").json()["line_items"] == []
    c = api.cart("POST", "/line-items/WS12-XS-Orange/quantity/2").json()
    c = api.cart(
        "POST", "/line-items/WS12-XS-Orange/quantity/1", json={"variant_handles": ["x"]}
    ).json()
    assert c["line_items"][0]["quantity"] == 3 and c["sub_total"]["number"] == 6600
    assert "shipping_info" not in c
    c = api.cart("POST", "/line-items/24-MB01/quantity/1?flush_cart=true").json()
    assert [li["sku"] for li in c["line_items"]] == ["24-MB01"]
    c = api.cart("POST", "/line-items/WJ06-S-Blue/quantity/1").json()  # 34 + 77 = 111
    c = api.cart("POST", "/shipping-info", json=ADDRESS).json()
    assert c["shipping_method"]["sku"] == "freeshipping_freeshipping"  # cheapest chosen
    assert {o["sku"] for o in c["shipping_method_options"]} == {
        "flatrate_flatrate",
        "freeshipping_freeshipping",
    }
    c = api.cart("POST", "/shipping-method", json={"shipping_method": "flatrate_flatrate"}).json()
    assert c["shipping_total"]["number"] == 500
    r = api.cart("POST", "/shipping-method", json={"shipping_method": "teleport"})
    assert err(r) == (400, "ErrorInvalidInputBody")
    complete = f"{cart_sandbox.url}{P}/domains/staging.luma.gift/complete-order"
    o = http.post(
        complete, json={"encrypted_card": api.jwe(), "billing_info": ADDRESS}, headers=api.h()
    ).json()
    assert o["platform_order_number"] == "000000001" and o["total"]["number"] == 11100 + 500 + 1138
    assert stock(cart_sandbox, "WJ06-S-Blue") == 99
    r = http.post(
        complete, json={"encrypted_card": api.jwe(), "billing_info": ADDRESS}, headers=api.h()
    )
    assert err(r) == (404, "ErrorCartNotFound")


def test_cart_errors(api, cart_sandbox):
    assert err(api.cart("POST", "/line-items/NOPE/quantity/1")) == (404, "ErrorProductNotFound")
    assert err(api.cart("POST", "/line-items/MT07-M-Gray/quantity/2")) == (
        400,
        "ErrorNotEnoughStock",
    )
    assert err(api.cart("POST", "/line-items/24-MB01/quantity/0")) == (400, "ErrorInvalidInputBody")
    api.cart("POST", "/line-items/24-MB01/quantity/1")
    complete = f"{cart_sandbox.url}{P}/domains/staging.luma.gift/complete-order"
    r = http.post(
        complete, json={"encrypted_card": api.jwe(), "billing_info": ADDRESS}, headers=api.h()
    )
    assert err(r) == (400, "ErrorMissingRequiredParameters")
    r = api.cart("POST", "/line-items/NOPE/quantity/1?flush_cart=true")
    assert err(r) == (404, "ErrorProductNotFound")
    assert [li["sku"] for li in api.cart("GET").json()["line_items"]] == ["24-MB01"]  # untouched
    c = api.cart("DELETE", "/line-items").json()
    assert c["line_items"] == [] and c["total"]["number"] == 0


# ---- stock under concurrency, inspection ---


def test_ten_concurrent_orders_for_five_in_stock(tmp_path):
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "merchants:\n  shop.test:\n    display_name: Shop\n    products:\n"
        "      - {sku: LAST-5, description: Last five, price: '9.99', stock: 5}\n"
    )
    with Sandbox(catalog=catalog, latency=0.02) as sb:
        api = Api(sb.url)
        bodies = [api.body(items=[{"variant_id": "LAST-5", "quantity": 1}]) for _ in range(10)]
        barrier = threading.Barrier(10)

        def order(body):
            barrier.wait()
            return sse_events(api.place(domain="shop.test", sse=True, body=body))[-1]

        with ThreadPoolExecutor(10) as pool:
            last = list(pool.map(order, bodies))
        placed = [e for e, _ in last if e == "order-placed"]
        refused = [d["error"] for e, d in last if e == "error"]
        assert len(placed) == 5 and refused == ["ErrorNotEnoughStock"] * 5
        assert http.get(f"{sb.url}/__sandbox/stock").json()["shop.test"]["LAST-5"] == 0
        assert len(http.get(f"{sb.url}/__sandbox/orders").json()["orders"]) == 5


def test_orders_listing_keeps_only_last_four_and_reset_restores(api, cart_sandbox):
    api.place()
    listing = http.get(f"{cart_sandbox.url}/__sandbox/orders")
    (o,) = listing.json()["orders"]
    assert o["order_number"] == "000000001" and o["merchant"] == "staging.luma.gift"
    assert o["items"] == [{"sku": "WS12-XS-Orange", "quantity": 2}]
    assert o["totals"]["total"] == 5351 and o["card_type"] == "Visa" and o["last_four"] == "1111"
    assert "4111111111111111" not in listing.text
    http.post(f"{cart_sandbox.url}/__sandbox/reset")
    assert http.get(f"{cart_sandbox.url}/__sandbox/orders").json()["orders"] == []
    assert stock(cart_sandbox, "WS12-XS-Orange") == 100


def test_request_log_line_and_no_card_in_it():
    lines: list[str] = []
    with Sandbox(log=lines.append) as sb:
        Api(sb.url).place()
    assert any(
        line.startswith("POST /api/v1/payment/domains/staging.luma.gift/place-order 200 ")
        and line.endswith("ms")
        for line in lines
    )
    assert not any("4111" in line for line in lines)


def test_catalog_file_replaces_the_builtin_one(tmp_path):
    catalog = tmp_path / "c.yaml"
    catalog.write_text(
        "merchants:\n  a.test:\n    products:\n      - {sku: X, price: '1.50', stock: 3}\n"
    )
    with Sandbox(catalog=catalog) as sb:
        api = Api(sb.url)
        o = api.place(domain="a.test", items=[{"variant_id": "X", "quantity": 3}]).json()
        assert o["sub_total"]["number"] == 450
        assert err(api.place()) == (404, "ErrorStoreNotFound")


@pytest.mark.parametrize(
    "text",
    [
        "merchants: 3",
        "merchants:\n  a.b: {mode: weird}",
        "merchants:\n  a.b:\n    products: [{sku: X, price: '1.234'}]",
        ": : :",
    ],
)
def test_bad_catalog_is_a_clear_error(tmp_path, text):
    from cart_cli.sandbox.catalog import CatalogError, load_catalog

    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(CatalogError, match=r"c\.yaml"):
        load_catalog(tmp_path / "c.yaml")


def test_a_quiet_sandbox_logs_no_uvicorn_errors_while_it_lives(caplog):
    """`--sandbox` runs: a request cut off by the run's own end (SIGTERM) must not print a
    traceback, even when uvicorn logs it before the sandbox is stopped."""
    import logging

    from cart_cli.sandbox import Sandbox

    log = logging.getLogger("uvicorn.error")
    with caplog.at_level(logging.ERROR, logger="uvicorn.error"):
        with Sandbox(quiet=True):
            log.error("Exception in ASGI application")
        assert "Exception in ASGI application" not in caplog.text
        log.error("after the quiet sandbox stopped")  # others' errors are not hidden
    assert "after the quiet sandbox stopped" in caplog.text
