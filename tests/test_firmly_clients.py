"""The requests Firmly's own browser clients send, replayed against the sandbox (docs/api.md,
"Firmly's own clients"): written from reading their code, in the order their UIs send them.
The clients themselves were run unmodified against the sandbox outside this repository."""

from __future__ import annotations

import json

import pytest

from cart_cli.sandbox import Sandbox
from tests.helpers import ADDRESS, GOOD_YEAR, http, sandbox_orders

D = "staging.luma.gift"  # declares shop_properties.optional_fields.shipping_phone
NO_PHONE = {k: v for k, v in ADDRESS.items() if k != "phone"}


class Browser:
    """One browser's session against the sandbox, sending what the clients send."""

    def __init__(self, url: str, origin: str | None = None) -> None:
        self.url = url
        self.extra = {"origin": origin} if origin else {}
        # Both drop-ins: POST with a JSON content type and no body on a first visit.
        r = http.post(
            f"{url}/api/v1/browser-session",
            headers={"x-firmly-app-id": "tests", "content-type": "application/json", **self.extra},
        )
        assert r.status_code == 200, r.text
        self.session = r.json()

    def call(self, method: str, path: str, body: object = None, **kw):
        headers = {
            "content-type": "application/json",
            "x-firmly-authorization": self.session["access_token"],
            **self.extra,
        }
        data = json.dumps(body) if body is not None else None
        return http.request(method, self.url + path, data=data, headers=headers, **kw)

    def ok(self, method: str, path: str, body: object = None, **kw) -> dict:
        r = self.call(method, path, body, **kw)
        assert r.status_code == 200, f"{method} {path}: {r.status_code} {r.text}"
        return r.json()

    def card_jwe(self, card: dict) -> str:
        from jose import jwe

        r = http.get(f"{self.url}/api/v1/payment/key")
        jwk = r.json()
        token = jwe.encrypt(
            json.dumps(card).encode(),
            jwk,
            algorithm="RSA-OAEP-256",
            encryption="A256GCM",
            kid=jwk["kid"],
        )
        return token.decode()


def cart(domain: str = D, rest: str = "") -> str:
    return f"/api/v1/domains/{domain}/cart{rest}"


def test_the_v4_drop_in_checkout(cart_sandbox):
    b = Browser(cart_sandbox.url)
    add = cart(rest="/line-items/WS12-XS-Orange/quantity/1?flush_cart=false")
    view = b.ok("POST", add, {"variant_handles": []})
    assert view["shop_properties"] == {"optional_fields": {"shipping_phone": True}}
    line = view["line_items"][0]
    # The quantity stepper: PUT the line's sku with its variant_handles; then back down.
    view = b.ok(
        "PUT",
        cart(rest=f"/line-items/{line['sku']}"),
        {"quantity": 3, "variant_handles": line["variant_handles"]},
    )
    assert view["line_items"][0]["quantity"] == 3
    b.ok(
        "POST",
        cart(rest="/line-items/24-MB01/quantity/1?flush_cart=false"),
        {"variant_handles": []},
    )
    view = b.ok("PUT", cart(rest="/line-items/24-MB01"), {"quantity": 0, "variant_handles": []})
    assert [x["sku"] for x in view["line_items"]] == ["WS12-XS-Orange"]  # 0 removed it
    consents = b.ok("GET", cart(rest="/consents"))["consents"]
    marketing = next(c for c in consents if c["type"] == "marketing")
    assert "%fterms{" in marketing["text"]  # the drop-in splits the text on these
    # Shipping info as address.svelte builds it when the phone is optional: no phone at all.
    shipping = {**NO_PHONE, "address2": "", "email": ADDRESS["email"]}
    view = b.ok("POST", cart(rest="/shipping-info"), shipping)
    assert "phone" not in view["shipping_info"]
    method = view["shipping_method_options"][0]["sku"]
    b.ok("POST", cart(rest="/shipping-method"), {"shipping_method": method})
    b.ok("POST", cart(rest="/consents"), {"consents": [{"id": marketing["id"]}]})
    assert b.ok("GET", cart(rest="/consents"))["consents"][0]["signed"] is True
    card = {  # payment-tab-credit-card-content.svelte: year "20" + YY; name added on ordering
        "name": "Ada Lovelace",
        "number": "4111111111111111",
        "month": "08",
        "year": str(GOOD_YEAR),
        "verification_value": "123",
    }
    order = b.ok(
        "POST",
        f"/api/v1/payment/domains/{D}/complete-order",
        {"billing_info": shipping, "encrypted_card": b.card_jwe(card)},
    )
    assert order["platform_order_number"] and order["urls"]["thank_you_page"]
    assert sandbox_orders(cart_sandbox)[0]["items"] == [{"sku": "WS12-XS-Orange", "quantity": 3}]


def test_the_v5_services_checkout(cart_sandbox):
    b = Browser(cart_sandbox.url)
    browser_id = b.session["browser_id"]
    assert browser_id
    # A renewal (the stored token in the body) keeps the device, and so the browser id.
    again = http.post(
        f"{cart_sandbox.url}/api/v1/browser-session",
        headers={"x-firmly-app-id": "tests", "content-type": "application/json"},
        data=json.dumps({"access_token": b.session["access_token"]}),
    ).json()
    assert (again["device_id"], again["browser_id"]) == (b.session["device_id"], browser_id)
    b.ok(
        "POST",
        cart(rest="/line-items/MH07-XS-Gray/quantity/2?flush_cart=false"),
        {"variant_handles": []},
    )
    b.ok("GET", cart())
    b.ok("PUT", cart(rest="/line-items/MH07-XS-Gray"), {"quantity": 1, "variant_handles": []})
    view = b.ok("POST", cart(rest="/shipping-info"), dict(ADDRESS))
    b.ok("POST", cart(rest="/shipping-method"), {"shipping_method": view["shipping_method"]["sku"]})
    billing = {**ADDRESS, "address2": "", "country": "US"}  # payment.svelte.js getBillingInfo
    card = {  # order.js: the expiry as split from "MM/YY"
        "number": "4111111111111111",
        "exp_month": "8",
        "exp_year": str(GOOD_YEAR)[2:],
        "verification_value": "123",
    }
    order = b.ok(
        "POST",
        f"/api/v1/payment/domains/{D}/complete-order",
        {"billing_info": billing, "encrypted_card": b.card_jwe(card)},
    )
    assert order["payment_summary"]["year"] == GOOD_YEAR and order["payment_summary"]["month"] == 8


def test_the_sdk_cart_and_line_item(cart_sandbox):
    b = Browser(cart_sandbox.url)
    view = b.ok(
        "POST",
        cart(rest="/line-items/WJ06-S-Blue/quantity/1?flush_cart=false"),
        {"variant_handles": []},
    )
    line = view["line_items"][0]
    view = b.ok(
        "PUT",
        cart(rest=f"/line-items/{line['sku']}"),
        {"quantity": 2, "variant_handles": line["variant_handles"]},
    )
    b.ok("POST", cart(rest="/shipping-info"), dict(ADDRESS))
    b.ok("POST", cart(rest="/shipping-method"), {"shipping_method": "flatrate_flatrate"})
    card = {
        "name": "Ada",
        "number": "4111111111111111",
        "month": "08",
        "year": str(GOOD_YEAR),
        "verification_value": "123",
    }
    order = b.ok(
        "POST",
        f"/api/v1/payment/domains/{D}/complete-order",
        {"billing_info": dict(ADDRESS), "encrypted_card": b.card_jwe(card)},
    )
    assert order["cart_status"] == "submitted" and order["line_items"][0]["quantity"] == 2
    # LineItem.remove() on the next cart: PUT quantity 0.
    b.ok(
        "POST",
        cart(rest="/line-items/WJ06-S-Blue/quantity/1?flush_cart=false"),
        {"variant_handles": []},
    )
    assert b.ok("PUT", cart(rest="/line-items/WJ06-S-Blue"), {"quantity": 0})["line_items"] == []


def test_the_winstonchen_client_checkout_with_cart_v2(cart_sandbox):
    b = Browser(cart_sandbox.url)
    product = b.ok("GET", "/api/v1/domains-products/staging.luma.gift/radiant-tee")
    by_url = b.ok("GET", "/api/v1/domains-pdp", params={"url": product["pdp_url"]})
    assert by_url == product
    variant = next(v for v in product["variants"] if v["available"])
    assert variant["add_to_cart_ref"] == {"variant_id": variant["sku"]}
    b.call("DELETE", cart(rest="/line-items"))
    view = b.ok(
        "POST",
        f"/api/v2/domains/{D}/cart/line-items",
        {"add_to_cart_ref": variant["add_to_cart_ref"], "quantity": 5},
    )
    assert view["line_items"][0]["quantity"] == 5
    ship = b.ok("POST", cart(rest="/shipping-info"), dict(ADDRESS))
    # 110.00: free shipping is offered too, and chosen, as the cheapest
    assert ship["shipping_method"]["sku"] == "freeshipping_freeshipping"
    v2 = b.ok("GET", f"/api/v2/domains/{D}/cart/")
    shipment = v2["shipments"][0]
    option = next(o for o in shipment["shipping_method_options"] if o["id"] == "flatrate_flatrate")
    updated = b.ok(
        "POST",
        f"/api/v2/domains/{D}/cart/shipments/shipping-method",
        {"shipment_id": shipment["shipment_id"], "shipping_method_id": option["id"]},
    )
    assert updated["shipping_method"]["sku"] == "flatrate_flatrate"
    assert updated["shipments"][0]["shipping_method"]["id"] == "flatrate_flatrate"
    assert updated["shipping_total"]["number"] == 500
    card = {
        "number": "4111111111111111",
        "name": "Ada",
        "verification_value": "123",
        "month": "08",
        "year": str(GOOD_YEAR),
    }
    billing = {
        k: ship["shipping_info"][k]
        for k in (
            "first_name",
            "last_name",
            "address1",
            "city",
            "state_or_province",
            "postal_code",
            "email",
            "phone",
        )
    }
    order = b.ok(
        "POST",
        f"/api/v1/payment/domains/{D}/complete-order",
        {"encrypted_card": b.card_jwe(card), "billing_info": {**billing, "country": "US"}},
    )
    assert order["total"]["number"] == 11000 + 500 + order["tax"]["number"]


@pytest.mark.parametrize(
    ("path", "params", "error"),
    [
        ("/api/v1/domains-products/staging.luma.gift/no-such-thing", None, "ErrorProductNotFound"),
        ("/api/v1/domains-products/nowhere.test/radiant-tee", None, "ErrorStoreNotFound"),
        ("/api/v1/domains-pdp", {"url": "https://nowhere.test/x.html"}, "ErrorStoreNotFound"),
        (
            "/api/v1/domains-pdp",
            {"url": "https://staging.luma.gift/nope.html"},
            "ErrorProductNotFound",
        ),
        ("/api/v1/domains-pdp", {"url": "not a url"}, "ErrorInvalidInputBody"),
    ],
)
def test_product_lookups_that_find_nothing(cart_sandbox, path, params, error):
    r = Browser(cart_sandbox.url).call("GET", path, params=params)
    assert r.json()["error"] == error


def test_a_variant_sku_or_www_url_finds_its_product(cart_sandbox):
    b = Browser(cart_sandbox.url)
    product = b.ok("GET", "/api/v1/domains-products/staging.luma.gift/WS12-M-Blue")
    assert product["handle"] == "radiant-tee" and len(product["variants"]) == 3
    assert [v["available"] for v in product["variants"]] == [True, True, False]
    url = "https://www.staging.luma.gift/radiant-tee.html?utm_source=x"
    assert b.ok("GET", "/api/v1/domains-pdp", params={"url": url})["handle"] == "radiant-tee"


@pytest.mark.parametrize(
    ("sku", "body", "error"),
    [
        ("WS12-XS-Orange", {"quantity": 101}, "ErrorNotEnoughStock"),
        ("NOPE", {"quantity": 1}, "ErrorProductNotFound"),
        ("WS12-XS-Orange", {"quantity": -1}, "ErrorInvalidInputBody"),
        ("WS12-XS-Orange", {"quantity": "2"}, "ErrorInvalidInputBody"),
        ("WS12-XS-Orange", {}, "ErrorInvalidInputBody"),
    ],
)
def test_a_refused_quantity_change_leaves_the_cart(cart_sandbox, sku, body, error):
    b = Browser(cart_sandbox.url)
    b.ok("POST", cart(rest="/line-items/WS12-XS-Orange/quantity/2"))
    r = b.call("PUT", cart(rest=f"/line-items/{sku}"), body)
    assert r.json()["error"] == error
    assert [(x["sku"], x["quantity"]) for x in b.ok("GET", cart())["line_items"]] == [
        ("WS12-XS-Orange", 2)
    ]


def test_a_quantity_for_a_product_not_in_the_cart_adds_it(cart_sandbox):
    b = Browser(cart_sandbox.url)
    view = b.ok("PUT", cart(rest="/line-items/24-MB01"), {"quantity": 2})
    assert [(x["sku"], x["quantity"]) for x in view["line_items"]] == [("24-MB01", 2)]


def test_a_merchant_without_optional_phone_still_requires_it(cart_sandbox):
    b = Browser(cart_sandbox.url)
    other = "captcha.luma.gift"
    view = b.ok("GET", cart(other))
    assert view["shop_properties"] == {}
    r = b.call("POST", cart(other, "/shipping-info"), NO_PHONE)
    assert r.status_code == 400 and "phone" in r.json()["description"]
    r = b.call("POST", cart(other, "/shipping-info"), {**ADDRESS, "phone": " "})
    assert r.status_code == 400 and "phone" in r.json()["description"]


def test_bad_v2_calls_are_refused(cart_sandbox):
    b = Browser(cart_sandbox.url)
    v2 = f"/api/v2/domains/{D}/cart"
    assert b.ok("GET", v2 + "/")["shipments"] == []
    for body in (
        {"add_to_cart_ref": {}, "quantity": 1},
        {"add_to_cart_ref": {"variant_id": "WS12-XS-Orange"}, "quantity": 0},
    ):
        assert b.call("POST", v2 + "/line-items", body).json()["error"] == "ErrorInvalidInputBody"
    b.ok("POST", v2 + "/line-items", {"add_to_cart_ref": "WS12-XS-Orange", "quantity": 1})
    r = b.call(
        "POST",
        v2 + "/shipments/shipping-method",
        {"shipment_id": "nope", "shipping_method_id": "flatrate_flatrate"},
    )
    assert r.json()["error"] == "ErrorInvalidInputBody"
    shipment = b.ok("GET", v2 + "/")["shipments"][0]["shipment_id"]
    r = b.call(
        "POST",
        v2 + "/shipments/shipping-method",
        {"shipment_id": shipment, "shipping_method_id": "flatrate_flatrate"},
    )
    assert r.json()["error"] == "ErrorMissingRequiredParameters"  # no shipping info yet
    assert (
        b.call("POST", cart(rest="/consents"), {"consents": [{"id": "spam"}]}).json()["error"]
        == "ErrorInvalidInputBody"
    )


def test_routes_the_sandbox_does_not_serve_are_route_not_found(cart_sandbox):
    b = Browser(cart_sandbox.url)
    for method, path in [
        ("POST", cart(rest="/promo-codes")),
        ("POST", f"/api/v1/domains/{D}/session/transfer"),
        ("POST", f"/api/v1/payment/domains/{D}/wallet-complete-order"),
    ]:
        r = b.call(method, path, {})
        assert (r.status_code, r.json()["error"]) == (404, "RouteNotFound"), path


def test_a_merchant_without_place_order_answers_as_a_server_without_the_route(cart_sandbox):
    url = f"{cart_sandbox.url}/api/v1/payment/domains/cart-only.luma.gift/place-order"
    r = http.post(url, json={})  # before anything: no token needed to learn there is no route
    assert (r.status_code, r.json()["error"]) == (404, "RouteNotFound")
    unknown = http.post(
        f"{cart_sandbox.url}/api/v1/payment/domains/nowhere.test/place-order", json={}
    )
    assert unknown.json()["error"] == "ErrorStoreNotFound"  # a store the server does not know


# ---- CORS ---------------------------------------------------------------------------------
PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "content-type,x-firmly-authorization",
}


@pytest.mark.parametrize(
    "origin", ["http://localhost:5173", "http://127.0.0.1:8080", "https://[::1]"]
)
def test_a_loopback_page_may_call_the_sandbox(cart_sandbox, origin):
    r = http.request(
        "OPTIONS",
        f"{cart_sandbox.url}{cart(rest='/shipping-info')}",
        headers={"origin": origin, **PREFLIGHT},
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == origin
    assert r.headers["access-control-allow-credentials"] == "true"
    assert "x-firmly-authorization" in r.headers["access-control-allow-headers"].lower()
    key = http.get(f"{cart_sandbox.url}/api/v1/payment/key", headers={"origin": origin})
    assert key.headers["access-control-allow-origin"] == origin
    assert "x-firmly-kid" in key.headers["access-control-expose-headers"].lower()
    # A whole session from that page carries the headers too.
    b = Browser(cart_sandbox.url, origin=origin)
    assert b.call("GET", cart()).headers["access-control-allow-origin"] == origin


def test_other_origins_only_with_cors():
    page = "https://shop.example"
    with Sandbox() as plain:
        r = http.request(
            "OPTIONS", f"{plain.url}/api/v1/browser-session", headers={"origin": page, **PREFLIGHT}
        )
        assert "access-control-allow-origin" not in r.headers
        r = http.get(
            f"{plain.url}/api/v1/payment/key", headers={"origin": "http://localhost.evil.example"}
        )
        assert "access-control-allow-origin" not in r.headers
    with Sandbox(cors=(page,)) as allowed:
        r = http.request(
            "OPTIONS",
            f"{allowed.url}/api/v1/browser-session",
            headers={"origin": page, **PREFLIGHT},
        )
        assert r.headers["access-control-allow-origin"] == page
        r = http.request(
            "OPTIONS",
            f"{allowed.url}/api/v1/browser-session",
            headers={"origin": "https://other.example", **PREFLIGHT},
        )
        assert "access-control-allow-origin" not in r.headers
    with Sandbox(cors=("*",)) as anyone:
        r = http.get(
            f"{anyone.url}/api/v1/payment/key", headers={"origin": "https://other.example"}
        )
        assert r.headers["access-control-allow-origin"] == "https://other.example"  # named


@pytest.mark.parametrize(
    "origin", ["ftp://shop.example", "shop.example", "https://shop.example/page"]
)
def test_a_cors_origin_must_be_an_origin(origin):
    from tests.helpers import cli

    r = cli(["sandbox", "--port", "0", "--cors", origin])
    assert r.code == 2 and "--cors" in r.stderr and "like https://shop.example" in r.stderr
