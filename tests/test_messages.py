"""Messages a person understands: each failure says what failed and what to do, and shows no
secret (card, header value, password in a URL)."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

import pytest

from cart_cli.core.client import Client, Endpoints
from cart_cli.core.errors import ApiError
from cart_cli.core.urls import redact_url
from cart_cli.wire.names import Err
from tests.helpers import cli, sandbox_orders, target, write_order


@pytest.fixture
def order_file(tmp_path):
    return write_order(tmp_path / "o.yaml")


class _Handler(BaseHTTPRequestHandler):
    mode = "html"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        if self.mode == "html":
            body = b"<!doctype html><html><body>Welcome to our shop</body></html>"
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:  # a chunked answer that breaks off inside a chunk
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            self.wfile.write(b'ff\r\n{"access_token": ')
            self.wfile.flush()
            self.close_connection = True

    do_GET = do_POST


@pytest.fixture
def web_server(http_server):
    """A plain web server on loopback that is not the Simple Cart API."""
    return lambda mode: http_server(type("H", (_Handler,), {"mode": mode}))


def error_line(r) -> str:
    lines = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    return lines[0]


def test_an_html_page_at_the_api_url_says_to_check_it(order_file, web_server):
    url = web_server("html")
    r = cli(["place", order_file, "--api-url", url, "--payment-url", url, "--app-id", "x"])
    assert r.code == 5
    line = error_line(r)
    assert "answered the session request with an HTML page, not a Simple Cart API session" in line
    assert "Check --api-url" in line


def test_an_answer_that_breaks_off_does_not_name_a_python_class(order_file, web_server):
    url = web_server("chunked")
    r = cli(["place", order_file, "--api-url", url, "--payment-url", url, "--app-id", "x"])
    assert r.code == 7
    line = error_line(r)
    assert "broke off in the middle" in line and "Error" not in line.removeprefix("error:")


def test_https_to_a_plain_http_port(cart_sandbox, order_file):
    url = cart_sandbox.url.replace("http://", "https://")
    r = cli(["place", order_file, "--api-url", url, "--payment-url", url, "--app-id", "x"])
    assert r.code == 7
    line = error_line(r)
    assert "did not answer in TLS: it speaks plain http, or the port is wrong" in line
    assert "use http://" in line and "--ca-bundle" not in line


def test_a_ca_bundle_that_is_a_folder(cart_sandbox, order_file, tmp_path):
    r = cli(["place", order_file, *target(cart_sandbox), "--ca-bundle", tmp_path])
    assert r.code == 2
    assert "is a folder: give the file of PEM CA certificates" in error_line(r)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("x-a: one\r\nx-b: two", "--header x-a: the value contains a line break"),
        ("x-a: one\nsecret", "--header x-a: the value contains a line break"),
        ("bad name: v", "a header name is letters, digits and -_. only"),
        ("no colon", "must look like 'Name: value'"),
    ],
)
def test_a_bad_header_is_a_usage_error_that_does_not_repeat_its_value(
    cart_sandbox, order_file, header, message
):
    r = cli(["place", order_file, *target(cart_sandbox), "-H", header])
    assert r.code == 2, r.stderr
    assert message in error_line(r) and "secret" not in r.stderr and "two" not in r.stderr
    assert sandbox_orders(cart_sandbox) == []


def test_an_empty_api_url_is_an_error_not_the_default(order_file):
    r = cli(["place", order_file, "--api-url", "", "--app-id", "x"])
    assert r.code == 2
    assert "--api-url is empty" in error_line(r)


def test_debug_does_not_log_a_password_in_a_url(cart_sandbox, order_file):
    url = cart_sandbox.url.replace("http://", "http://ops:hunter2@")
    r = cli(
        ["place", order_file, "--api-url", url, "--payment-url", url, "--app-id", "x", "--debug"]
    )
    assert r.code == 0, r.stderr
    assert "-> POST http://***@127.0.0.1" in r.stderr
    assert "hunter2" not in r.stderr and "hunter2" not in r.stdout
    assert redact_url("https://a:b@h:1/p?q") == "https://***@h:1/p?***"  # a query may hold a key
    assert redact_url("https://a@[::1]:8/p") == "https://***@[::1]:8/p"
    assert redact_url("https://h/p") == "https://h/p"


def test_the_decline_hint_names_test_cards_only_against_a_local_sandbox(cart_sandbox, tmp_path):
    r = cli(
        ["place", write_order(tmp_path / "o.yaml", card="test:declined"), *target(cart_sandbox)]
    )
    assert r.code == 3 and "Use another card (sandbox: test:visa)." in error_line(r)
    real = Client(Endpoints("https://api.example.com", "https://cc.example.com", "app"))
    assert real.local is False
    real.close()
    hint = ApiError(Err.PAYMENT_DECLINED, "card declined", sandbox=real.local).describe()
    assert "Use another card." in hint and "test:" not in hint


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://[::1", "is not an http(s) URL"),  # was "internal error": ValueError in the guard
        ("http://127.0.0.1:99999", "the port must be a number from 1 to 65535"),
    ],
)
def test_an_unreadable_url_is_a_usage_error_in_place_and_doctor(order_file, url, said):
    urls = ["--api-url", url, "--payment-url", "http://127.0.0.1:9", "--app-id", "x"]
    r = cli(["place", order_file, *urls])
    assert r.code == 2 and said in error_line(r), r.stderr
    r = cli(["doctor", *urls])  # doctor's config check, not an internal error in its dns check
    assert r.code == 2 and said in r.stdout and "internal error" not in r.stderr, r.stderr
