"""The client's safety paths against a scripted server: answers a real server might give that the
sandbox does not. Each ends in the documented exit code and one clear message, and an order that
may have been placed is never reported as failed-and-safe-to-retry."""

from __future__ import annotations

import base64
import json
from http.server import BaseHTTPRequestHandler

import pytest

from tests.helpers import cli, write_order

SESSION = {"access_token": "tok", "expires_in": 3600, "device_id": "d1"}


def _b64(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def jwk():
    from cryptography.hazmat.primitives.asymmetric import rsa

    pub = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers()
    )
    return {"kty": "RSA", "kid": "k1", "n": _b64(pub.n), "e": _b64(pub.e)}


@pytest.fixture
def scripted(http_server):
    """A server answering each path from a script: {path suffix: (status, content type, body)}."""

    def start(script: dict) -> str:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                path = self.path.split("?")[0]
                status, ctype, body = next(
                    (v for k, v in script.items() if path.endswith(k)),
                    (404, "text/html", b"<html>not here</html>"),
                )
                body = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = answer

        return http_server(Handler)

    return start


def run(tmp_path, url, *extra):
    f = write_order(tmp_path / "o.yaml")
    return cli(["place", f, "--api-url", url, "--payment-url", url, "--app-id", "a", *extra])


def error_line(r) -> str:
    lines = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    return lines[0]


def base(jwk) -> dict:
    return {
        "/browser-session": (200, "application/json", SESSION),
        "/payment/key": (200, "application/json", jwk),
    }


def sse(*events: tuple[str, str]) -> bytes:
    return "".join(f"event: {name}\ndata: {data}\n\n" for name, data in events).encode()


def test_200_without_an_order_is_an_unknown_outcome(tmp_path, scripted, jwk):
    url = scripted({**base(jwk), "/place-order": (200, "application/json", {"status": "ok"})})
    r = run(tmp_path, url, "--no-sse", "--json")
    assert r.code == 8
    assert "place-order answered without an order number or a notice" in r.stderr
    assert json.loads(r.stdout)["error"]["outcome"] == "unknown"


def test_an_unreadable_order_placed_event_is_an_unknown_outcome(tmp_path, scripted, jwk):
    stream = sse(("creating-cart", '{"domain": "x"}'), ("order-placed", "{not json"))
    url = scripted({**base(jwk), "/place-order": (200, "text/event-stream", stream)})
    r = run(tmp_path, url)
    assert r.code == 8
    assert "announced order-placed but its data could not be read" in error_line(r)
    assert "may or may not have been placed" in r.stderr


def test_an_unreadable_error_event_is_a_failure_that_began_on_the_server(tmp_path, scripted, jwk):
    url = scripted({**base(jwk), "/place-order": (200, "text/event-stream", sse(("error", "<b>")))})
    r = run(tmp_path, url, "--json")
    assert r.code == 5
    assert "the server reported an unreadable error" in error_line(r)


def test_a_stream_that_ends_without_an_outcome_is_unknown(tmp_path, scripted, jwk):
    stream = sse(("creating-cart", '{"domain": "x"}'))
    url = scripted({**base(jwk), "/place-order": (200, "text/event-stream", stream)})
    r = run(tmp_path, url)
    assert r.code == 8 and "ended before the order was confirmed" in error_line(r)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ({"kty": "EC", "crv": "P-256"}, "the public key answer is not an RSA JWK"),
    ],
)
def test_a_bad_public_key_is_a_server_error_and_no_order_is_sent(
    tmp_path, scripted, jwk, key, message
):
    url = scripted({**base(jwk), "/payment/key": (200, "application/json", key)})
    r = run(tmp_path, url)
    assert r.code == 5 and message in error_line(r)


def test_a_non_api_error_before_sending_says_nothing_was_ordered(tmp_path, scripted, jwk):
    url = scripted({"/browser-session": (503, "text/plain", b"maintenance")})
    r = run(tmp_path, url)
    assert r.code == 5
    line = error_line(r)
    assert "browser session failed: HTTP 503 with a body that is not an API error" in line
    assert "nothing was ordered" in line


def test_an_api_error_that_is_not_an_auth_error_on_401_is_not_retried(tmp_path, scripted, jwk):
    refused = {"error": "ErrorStoreUnavailable", "description": "closed"}
    url = scripted({**base(jwk), "/place-order": (401, "application/json", refused)})
    r = run(tmp_path, url)
    assert r.code == 5 and "ErrorStoreUnavailable: closed" in error_line(r)
