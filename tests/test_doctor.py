"""cart-cli doctor against the sandbox (all ✓) and against each broken part (✗, its exit code)."""

from __future__ import annotations

import json
import os
import re
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cart_cli.sandbox import Sandbox
from tests.helpers import ANSI, cli, target
from tests.test_faults import tls_files  # noqa: F401 - a fixture

NAMES = ["config", "dns", "tls", "session", "public key", "merchant"]


def doctor(*args, **kw):
    r = cli(["doctor", *args, "--json"], **kw)
    doc = r.json()
    assert doc["exit_code"] == r.code
    return r, {c["name"]: c for c in doc["checks"]}


def test_all_checks_pass_against_the_sandbox(cart_sandbox):
    r = cli(["doctor", *target(cart_sandbox), "--merchant", "staging.luma.gift"])
    assert r.code == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["✓"] * 6
    assert "kid sbx-" in r.stdout and "RSA 2048 bits" in r.stdout
    assert "Luma Store (magento): cart read, 0 lines" in r.stdout
    assert "all checks passed" in r.stderr
    assert not ANSI.search(r.stdout + r.stderr)  # not a terminal: no colour
    r, checks = doctor(*target(cart_sandbox), "--merchant", "staging.luma.gift")
    assert list(checks) == NAMES and {c["status"] for c in checks.values()} == {"ok"}
    assert all(isinstance(c["ms"], int) for c in checks.values())
    assert r.json()["target"]["api_url"] == cart_sandbox.url


def test_without_a_merchant_that_check_is_skipped(cart_sandbox):
    r, checks = doctor(*target(cart_sandbox))
    assert r.code == 0 and checks["merchant"]["status"] == "skipped"


def test_broken_config_is_exit_2(tmp_path):
    path = Path(os.environ["CART_CLI_CONFIG"])
    path.parent.mkdir(parents=True)
    path.write_text('[profiles.x]\napi_url = "https://a.example"\nsecret = "s"\n')
    r, checks = doctor("--profile", "x")
    assert r.code == 2
    assert (
        checks["config"]["status"] == "failed"
        and "secret: unknown key" in (checks["config"]["detail"])
    )
    assert [checks[n]["status"] for n in NAMES[1:]] == ["skipped"] * 5
    r, checks = doctor("--api-url", "https://a.example", "--payment-url", "https://a.example")
    assert r.code == 2 and "no application id" in checks["config"]["detail"]


def test_unknown_host_is_a_dns_failure_exit_7():
    url = "https://cart-cli-doctor.invalid"
    r = cli(["doctor", "--api-url", url, "--payment-url", url, "--app-id", "x"])
    assert r.code == 7
    assert "✗ dns" in r.stdout and "host name not found" in r.stdout and "hint:" in r.stdout
    assert "- session" in r.stdout and "1 check failed (dns)" in r.stderr


def test_untrusted_certificate_is_a_tls_failure_exit_7_and_a_ca_bundle_fixes_it(
    tls_files,  # noqa: F811
):
    cert, key = tls_files
    with Sandbox(ssl_certfile=str(cert), ssl_keyfile=str(key)) as sb:
        r, checks = doctor(*target(sb))
        assert r.code == 7 and checks["tls"]["status"] == "failed"
        assert "certificate not trusted" in checks["tls"]["detail"]
        assert "--ca-bundle" in checks["tls"]["hint"]
        assert checks["session"]["status"] == "skipped"
        # The certificate is a day's from the real clock (OpenSSL's): so is the run's, here.
        now = datetime.now(timezone.utc)
        at = {"CART_CLI_NOW": now.strftime("%Y-%m-%dT%H:%M:%S")}
        args = ["--ca-bundle", cert, "--merchant", "staging.luma.gift"]
        r, checks = doctor(*target(sb), *args, env=at)
        assert r.code == 0, checks
        tls = checks["tls"]["detail"]
        assert "TLSv1." in tls and re.search(r"certificate expires in 2[34] h", tls)
        # Counted from the run's clock: 12 hours on, a day's certificate has 11 (or 10) left.
        later = (now + timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M:%S")
        r, checks = doctor(*target(sb), "--ca-bundle", cert, env={"CART_CLI_NOW": later})
        assert re.search(r"certificate expires in 1[01] h", checks["tls"]["detail"]), checks


def test_refused_application_id_is_a_session_failure_exit_6():
    with Sandbox(app_ids=frozenset({"good"})) as sb:
        args = ["--api-url", sb.url, "--payment-url", sb.url, "--app-id", "bad"]
        r, checks = doctor(*args, "--merchant", "staging.luma.gift")
        assert r.code == 6 and checks["session"]["status"] == "failed"
        assert "InvalidAppId" in checks["session"]["detail"]
        assert checks["public key"]["status"] == "ok"  # it needs no session
        assert checks["merchant"]["status"] == "skipped"


class _BadKey(BaseHTTPRequestHandler):
    """A server whose session works and whose public key is not RSA."""

    def _json(self, doc: dict) -> None:
        body = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self._json({"access_token": "t", "expires_in": 3600, "device_id": "d"})

    def do_GET(self):
        self._json({"kty": "EC", "kid": "k"})

    def log_message(self, *args):
        pass


@pytest.fixture
def bad_key_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BadKey)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_public_key_that_is_not_rsa_is_a_key_failure(bad_key_server):
    url = bad_key_server
    r, checks = doctor("--api-url", url, "--payment-url", url, "--app-id", "x")
    assert r.code == 5 and checks["public key"]["status"] == "failed"
    assert "not an RSA JWK" in checks["public key"]["detail"]
    assert checks["session"]["status"] == "ok"


@pytest.mark.parametrize(
    ("merchant", "code", "error"),
    [("nope.example", 2, "ErrorStoreNotFound"), ("down.luma.gift", 5, "ErrorStoreUnavailable")],
)
def test_merchant_failures(cart_sandbox, merchant, code, error):
    r, checks = doctor(*target(cart_sandbox), "--merchant", merchant)
    assert r.code == code and checks["merchant"]["status"] == "failed"
    assert error in checks["merchant"]["detail"]


def test_the_token_lifetime_is_read_by_the_runs_clock(cart_sandbox):
    """CART_CLI_NOW in 2031: the token still has its hour, by the run's clock."""
    r, checks = doctor(*target(cart_sandbox), env={"CART_CLI_NOW": "2031-09-01T12:00:00"})
    assert r.code == 0 and re.search(r"token valid (59|60) min", checks["session"]["detail"]), (
        checks["session"]
    )


def test_a_refused_connection_skips_the_checks_of_that_host_and_shows_no_request_id():
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    args = ["--api-url", url, "--payment-url", url, "--app-id", "x", "--timeout", "2"]
    r, checks = doctor(*args, "--merchant", "staging.luma.gift")
    assert r.code == 7 and checks["session"]["status"] == "failed"
    assert "cannot reach" in checks["session"]["detail"]
    assert "request id" not in checks["session"]["detail"]  # no server ever saw it
    key = checks["public key"]
    assert (
        key["status"] == "skipped" and "could not be reached (the session check)" in key["detail"]
    )
    assert checks["merchant"]["status"] == "skipped"
