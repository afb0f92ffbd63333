"""The reference for `make bench`: a minimal standalone client making the same calls as
`cart-cli place` (browser session unless a cached token is still good, the public key, the card
encrypted as a JWE, place-order with ?sse=true followed to its end), with the same libraries
(requests, python-jose, sseclient-py, PyYAML) and nothing else: no validation, no error
handling beyond a non-zero exit, no display. What cart-cli spends beyond it is its own cost.

    python bench/reference_client.py ORDER.yaml --url http://127.0.0.1:8787 --token-file F
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import requests
import sseclient
import yaml
from jose import jwe

CARDS = {"test:visa": ("4111111111111111", "123")}  # the sandbox's approved Visa


def card_payload(alias: str) -> dict:
    number, cvv = CARDS[alias]
    return {
        "number": number,
        "name": "Ada Lovelace",
        "verification_value": cvv,
        "month": "08",
        "year": "2030",
    }


def token(http: requests.Session, url: str, app_id: str, path: str) -> str:
    try:
        with open(path) as f:
            cached = json.load(f)
        if cached["expires"] - time.time() > 120:
            return cached["access_token"]
    except (OSError, ValueError, KeyError):
        pass
    r = http.post(f"{url}/api/v1/browser-session", headers={"x-firmly-app-id": app_id})
    r.raise_for_status()
    session = r.json()
    with open(path, "w") as f:
        json.dump({"access_token": session["access_token"], "expires": session["expires"]}, f)
    return session["access_token"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("order")
    ap.add_argument("--url", required=True)
    ap.add_argument("--app-id", default="bench")
    ap.add_argument("--token-file", required=True)
    args = ap.parse_args()

    with open(args.order) as f:
        order = yaml.safe_load(f)
    shipping = order["shipping_info"]
    http = requests.Session()
    auth = token(http, args.url, args.app_id, args.token_file)
    r = http.get(f"{args.url}/api/v1/payment/key")
    r.raise_for_status()
    encrypted = jwe.encrypt(
        json.dumps(card_payload(order["card"])).encode(),
        r.json(),
        encryption="A256GCM",
        algorithm="RSA-OAEP-256",
        kid=r.headers["x-firmly-kid"],
    )
    body = {
        "encrypted_card": encrypted.decode(),
        "items": order["items"],
        "shipping_info": shipping,
        "billing_info": shipping,
    }
    r = http.post(
        f"{args.url}/api/v1/payment/domains/{order['merchant']}/place-order",
        params={"sse": "true"},
        json=body,
        headers={"x-firmly-authorization": auth},
        stream=True,
    )
    r.raise_for_status()
    for event in sseclient.SSEClient(r).events():
        if event.event == "error":
            print(event.data, file=sys.stderr)
            return 1
        if event.event == "order-placed":
            print(json.loads(event.data)["platform_order_number"])
            return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
