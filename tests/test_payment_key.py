"""The sandbox's payment key is usable the way browser code and other JOSE libraries use it
(docs/api.md, "The encrypted card"): its members are exactly the ones Firmly documents, WebCrypto
imports it (node, as Firmly's drop-ins do), and a card encrypted by node, jwcrypto or python-jose
places an order. Expiry as Firmly's v5 drop-in sends it: exp_month "8", exp_year "30"."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.helpers import ADDRESS, GOOD_YEAR, http, sandbox_orders

NODE = shutil.which("node")

# A WebCrypto JWE maker (RSA-OAEP-256 + A256GCM, compact), written for this test. It imports the
# key exactly as served, the way browsers do: importKey("jwk", key, {name: "RSA-OAEP", hash}).
NODE_JWE = r"""
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const subtle = globalThis.crypto.subtle;
const b64u = (b) => Buffer.from(b).toString("base64url");
(async () => {
  // Firmly's v4 drop-in imports the served key with SHA-1 first (its legacy RSA path): a JWK with
  // an "alg" member would be refused here ("JWK alg does not match").
  await subtle.importKey("jwk", input.jwk, {name: "RSA-OAEP", hash: "SHA-1"}, true, ["encrypt"]);
  const rsa = await subtle.importKey(
    "jwk", input.jwk, {name: "RSA-OAEP", hash: "SHA-256"}, false, ["encrypt"]);
  const header = {alg: "RSA-OAEP-256", enc: "A256GCM"};
  if (input.kid) header.kid = input.kid;
  const protectedPart = b64u(JSON.stringify(header));
  const cek = globalThis.crypto.getRandomValues(new Uint8Array(32));
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
  const wrapped = await subtle.encrypt({name: "RSA-OAEP"}, rsa, cek);
  const aes = await subtle.importKey("raw", cek, "AES-GCM", false, ["encrypt"]);
  const sealed = new Uint8Array(await subtle.encrypt(
    {name: "AES-GCM", iv, additionalData: Buffer.from(protectedPart), tagLength: 128},
    aes, Buffer.from(JSON.stringify(input.card))));
  const cut = sealed.length - 16;
  process.stdout.write([protectedPart, b64u(wrapped), b64u(iv), b64u(sealed.slice(0, cut)),
    b64u(sealed.slice(cut))].join("."));
})().catch((e) => { process.stderr.write(String(e && e.message || e)); process.exit(3); });
"""

V4_CARD = {  # the v4 drop-in: name, number, month, year "20" + YY, verification_value
    "name": "Ada Lovelace",
    "number": "4111111111111111",
    "month": "08",
    "year": str(GOOD_YEAR),
    "verification_value": "123",
}
V5_CARD = {  # the v5 services: exp_month / exp_year as split from "MM/YY", no name
    "number": "4111111111111111",
    "exp_month": "8",
    "exp_year": str(GOOD_YEAR)[2:],
    "verification_value": "123",
}


def served_key(sandbox) -> tuple[dict, str]:
    r = http.get(f"{sandbox.url}/api/v1/payment/key")
    assert r.status_code == 200
    return r.json(), r.headers["x-firmly-kid"]


def place(sandbox, token: str):
    session = http.post(
        f"{sandbox.url}/api/v1/browser-session", headers={"x-firmly-app-id": "tests"}
    ).json()
    body = {
        "encrypted_card": token,
        "shipping_info": dict(ADDRESS),
        "billing_info": dict(ADDRESS),
        "items": [{"variant_id": "24-MB01", "quantity": 1}],
    }
    return http.post(
        f"{sandbox.url}/api/v1/payment/domains/staging.luma.gift/place-order",
        json=body,
        headers={"x-firmly-authorization": session["access_token"]},
    )


def assert_placed(sandbox, resp, year: int = GOOD_YEAR) -> None:
    assert resp.status_code == 200, resp.text
    order = resp.json()
    assert order["platform_order_number"]
    assert order["payment_summary"]["month"] == 8 and order["payment_summary"]["year"] == year
    assert [o["order_number"] for o in sandbox_orders(sandbox)] == [order["platform_order_number"]]


def test_the_key_has_exactly_firmlys_documented_members(cart_sandbox):
    jwk, kid = served_key(cart_sandbox)
    assert set(jwk) == {"kid", "kty", "n", "e", "use"}
    assert (jwk["kty"], jwk["use"], jwk["kid"]) == ("RSA", "enc", kid)


@pytest.mark.skipif(NODE is None, reason="node is not installed")
@pytest.mark.parametrize("card", [V4_CARD, V5_CARD], ids=["v4-card", "v5-card"])
@pytest.mark.parametrize("with_kid", [True, False], ids=["kid", "no-kid"])
def test_webcrypto_imports_the_key_and_its_card_places_an_order(cart_sandbox, card, with_kid):
    jwk, kid = served_key(cart_sandbox)
    run = subprocess.run(
        [NODE, "-e", NODE_JWE],
        input=json.dumps({"jwk": jwk, "kid": kid if with_kid else "", "card": card}),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.count(".") == 4
    assert_placed(cart_sandbox, place(cart_sandbox, run.stdout))


@pytest.mark.parametrize("card", [V4_CARD, V5_CARD], ids=["v4-card", "v5-card"])
def test_jwcrypto_encrypts_with_the_served_key(cart_sandbox, card):
    from jwcrypto import jwe, jwk

    served, kid = served_key(cart_sandbox)
    key = jwk.JWK(**served)
    token = jwe.JWE(
        json.dumps(card).encode(),
        protected=json.dumps({"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": kid}),
        recipient=key,
    ).serialize(compact=True)
    assert_placed(cart_sandbox, place(cart_sandbox, token))


@pytest.mark.parametrize("card", [V4_CARD, V5_CARD], ids=["v4-card", "v5-card"])
def test_python_jose_encrypts_with_the_served_key(cart_sandbox, card):
    from jose import jwe

    served, kid = served_key(cart_sandbox)
    token = jwe.encrypt(
        json.dumps(card).encode(),
        served,
        algorithm="RSA-OAEP-256",
        encryption="A256GCM",
        kid=kid,
    )
    assert_placed(cart_sandbox, place(cart_sandbox, token.decode()))


@pytest.mark.parametrize(
    ("month", "year"),
    [(m, y) for y in (str(GOOD_YEAR)[2:], str(GOOD_YEAR)) for m in ("8", "08")],
)
def test_one_or_two_digit_month_and_two_or_four_digit_year(cart_sandbox, month, year):
    from jose import jwe

    served, _ = served_key(cart_sandbox)
    card = {**V5_CARD, "exp_month": month, "exp_year": year}
    token = jwe.encrypt(
        json.dumps(card).encode(), served, algorithm="RSA-OAEP-256", encryption="A256GCM"
    )
    assert_placed(cart_sandbox, place(cart_sandbox, token.decode()))
