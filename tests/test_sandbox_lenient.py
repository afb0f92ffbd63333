"""The sandbox is as lenient as the real service is likely to be (docs/api.md), and as strict
where it must be; unknown routes and methods; one endpoint table for client and sandbox."""

from __future__ import annotations

import inspect
import json
import time

import pytest
import requests
from starlette.routing import Match

from cart_cli.core import client as client_module
from cart_cli.core.crypto import PublicKey
from cart_cli.sandbox.state import SandboxError, State
from cart_cli.wire import endpoints as ep
from tests.helpers import ADDRESS, GOOD_YEAR
from tests.test_sandbox import Api

T = 10  # seconds: every request here is bounded


@pytest.fixture
def api(cart_sandbox):
    return Api(cart_sandbox.url)


def jwe(key: PublicKey, payload: dict, **headers) -> str:
    """A JWE made the way Firmly's browser code may make it (python-jose, extra headers)."""
    from jose import jwe as jose_jwe

    token = jose_jwe.encrypt(
        json.dumps(payload).encode(),
        key.jwk,
        encryption="A256GCM",
        algorithm="RSA-OAEP-256",
        **headers,
    )
    return token.decode() if isinstance(token, bytes) else token


CARD = {
    "number": "4111111111111111",
    "name": "Ada Lovelace",
    "verification_value": "123",
    "month": "08",
    "year": str(GOOD_YEAR),
}


def place(api, card_token, **over):
    body = api.body(encrypted_card=card_token, **over)
    return requests.post(
        f"{api.url}/api/v1/payment/domains/staging.luma.gift/place-order",
        json=body,
        headers=api.h(),
        timeout=T,
    )


def header_of(token: str) -> dict:
    import base64

    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


def test_a_jwe_without_kid_is_for_the_current_key(api):
    token = jwe(api.key(), CARD)
    assert "kid" not in header_of(token)
    r = place(api, token)
    assert r.status_code == 200, r.text
    assert r.json()["platform_order_number"] == "000000001"


def test_exp_month_and_exp_year_stand_for_month_and_year_and_name_may_be_missing(api):
    card = {k: v for k, v in CARD.items() if k not in ("month", "year", "name")}
    r = place(api, jwe(api.key(), {**card, "exp_month": "08", "exp_year": str(GOOD_YEAR)}))
    assert r.status_code == 200, r.text
    summary = r.json()["payment_summary"]
    assert summary["month"] == 8 and summary["year"] == GOOD_YEAR
    assert "card_holder_name" not in summary


def test_a_jwe_with_a_zip_header_is_refused(api):
    key = api.key()
    token = jwe(key, CARD, zip="DEF", kid=key.kid)
    assert header_of(token)["zip"] == "DEF"
    r = place(api, token)
    assert r.status_code == 400 and r.json()["error"] == "ErrorInvalidInputBody"
    assert "zip" in r.json()["description"]


def test_a_jwe_for_an_unknown_kid_is_still_refused(api):
    r = place(api, jwe(api.key(), CARD, kid="someone-else"))
    assert r.status_code == 400 and "unknown key" in r.json()["description"]


def test_blank_address2_is_absent_and_unknown_address_members_are_ignored(api):
    address = {**ADDRESS, "address2": " ", "state_name": "Washington", "county": "King"}
    r = place(api, api.jwe(), shipping_info=address, billing_info=address)
    assert r.status_code == 200, r.text
    shipping = r.json()["shipping_info"]
    assert "address2" not in shipping and "county" not in shipping
    assert shipping["state_name"] == "Washington"  # answers carry it, as real ones do


def test_complete_order_requires_billing_info(api):
    assert api.cart("POST", "/line-items/WS12-XS-Orange/quantity/1", timeout=T).ok
    assert api.cart("POST", "/shipping-info", json=ADDRESS, timeout=T).ok
    url = f"{api.url}/api/v1/payment/domains/staging.luma.gift/complete-order"
    r = requests.post(url, json={"encrypted_card": api.jwe()}, headers=api.h(), timeout=T)
    assert r.status_code == 400 and r.json()["error"] == "ErrorInvalidInputBody"
    assert "billing_info is required" in r.json()["description"]


def test_unknown_routes_and_methods_have_their_own_error_names(cart_sandbox):
    r = requests.get(f"{cart_sandbox.url}/api/v1/nope", timeout=T)
    assert r.status_code == 404
    assert r.json() == {
        "code": 404,
        "error": "RouteNotFound",
        "description": "GET /api/v1/nope: Not Found",
    }
    r = requests.get(f"{cart_sandbox.url}/api/v1/browser-session", timeout=T)
    assert r.status_code == 405 and r.json()["error"] == "ErrorMethodNotAllowed"
    assert r.json()["code"] == 405 and "POST" in r.headers["allow"]


# ---- tokens ---


def test_renewing_a_token_expired_more_than_a_week_ago_is_token_expired_with_message():
    from jose import jwt

    state = State({})
    old = int(time.time()) - 8 * 24 * 3600
    token = jwt.encode(
        {"device_id": "d", "exp": old, "iat": old - 3600}, state.tokens.secret, "HS256"
    )
    with pytest.raises(SandboxError) as e:
        state.renew_token(token)
    assert e.value.status == 401
    assert e.value.body() == {
        "code": 401,
        "error": "TokenExpired",
        "message": "The token expired more than a week ago",
    }
    recent = int(time.time()) - 6 * 24 * 3600
    token = jwt.encode({"device_id": "d", "exp": recent}, state.tokens.secret, "HS256")
    assert state.renew_token(token)["device_id"] == "d"


def test_the_renew_token_expired_fault_refuses_the_next_renewal_only(api):
    url = f"{api.url}/api/v1/browser-session"
    headers = {"x-firmly-app-id": "tests", "x-sandbox-fault": "renew-token-expired"}
    body = {"access_token": api.token}
    first = requests.post(url, json=body, headers=headers, timeout=T)
    assert first.status_code == 401 and first.json()["error"] == "TokenExpired"
    assert first.json()["message"]
    fresh = requests.post(url, headers=headers, timeout=T)  # a new session is not a renewal
    assert fresh.status_code == 200
    again = requests.post(url, json=body, headers=headers, timeout=T)
    assert again.status_code == 200 and again.json()["device_id"] == api.session["device_id"]


# ---- one endpoint table ---


def test_every_client_route_is_served_by_the_sandbox(cart_sandbox):
    from cart_cli.sandbox.app import create_app

    app = create_app(cart_sandbox.state)
    for route in ep.CLIENT + ep.BROWSER_CLIENTS:
        path = route.url("", domain="staging.luma.gift", sku="WS12-XS-Orange", qty=1, handle="h")
        scope = {"type": "http", "path": path, "method": route.method}
        matches = [r.matches(scope)[0] for r in app.routes]
        assert Match.FULL in matches, f"{route.name}: {route.method} {path} is not served"


def test_every_client_route_answers_over_http_with_a_contract_error_at_worst(cart_sandbox):
    for route in ep.CLIENT + ep.BROWSER_CLIENTS:
        base = cart_sandbox.url
        url = route.url(
            base, domain="staging.luma.gift", sku="WS12-XS-Orange", qty=1, handle="radiant-tee"
        )
        r = requests.request(route.method, url, headers={"x-firmly-app-id": "t"}, timeout=T)
        if r.status_code != 200:
            assert r.json()["error"] not in ("RouteNotFound", "ErrorMethodNotAllowed"), route


def test_the_client_spells_no_path_of_its_own():
    source = inspect.getsource(client_module)
    assert "/api/v1" not in source
    assert 'place-order"' not in source and "'/" not in source


def test_route_urls_encode_each_parameter_as_one_segment():
    url = ep.ADD_ITEM.url("http://h", domain="a.b", sku="X/Y Z", qty=2)
    assert url == "http://h/api/v1/domains/a.b/cart/line-items/X%2FY%20Z/quantity/2"


def test_every_docs_api_section_the_code_points_to_exists():
    import re

    from tests.helpers import ROOT

    headings = {
        line[3:].strip()
        for line in (ROOT / "docs" / "api.md").read_text().splitlines()
        if line.startswith("## ")
    }
    cited = set()
    for path in [*(ROOT / "cart_cli").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]:
        text = path.read_text()
        outside = "../shared/" + "API.md"  # spelled apart so that this file does not match
        assert outside not in text and "API.md" + " section" not in text, path
        for m in re.finditer(r'docs/api\.md[,:]? ((?:"[^"]+"(?: and |, )?)+)', text):
            cited |= set(re.findall(r'"([^"]+)"', m.group(1)))
    assert cited and cited <= headings, cited - headings


def test_a_key_without_kid_makes_a_jwe_without_kid_that_the_sandbox_takes(cart_sandbox):
    from cart_cli.core.crypto import encrypt_card

    ring = cart_sandbox.state.keys
    jwk = {k: v for k, v in ring.jwk.items() if k != "kid"}
    token = encrypt_card(CARD, PublicKey("", jwk))
    assert "kid" not in header_of(token)
    assert ring.decrypt_card(token)["number"] == CARD["number"]
