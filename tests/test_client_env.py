"""The client reads the environment (proxies, CA bundle) once, when it is made, not on every
request, and still honours a proxy."""

from __future__ import annotations

import socketserver
import threading
from datetime import datetime, timezone

import pytest
import requests

from cart_cli.core.checkout import place_order
from cart_cli.core.client import Client, Endpoints
from cart_cli.core.errors import CartError
from cart_cli.core.order import load_order
from cart_cli.core.urls import environ_proxies
from tests.helpers import inputs, write_order


class RecordingProxy(socketserver.ThreadingTCPServer):
    """Answers every request 502 and keeps its request line."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.lines: list[str] = []
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.request.settimeout(5)
                proxy.lines.append(self.rfile.readline().decode().strip())
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                self.wfile.write(
                    b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )

        super().__init__(("127.0.0.1", 0), Handler)

    def __enter__(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()


def test_a_proxy_from_the_environment_is_used():
    with RecordingProxy() as proxy:
        environ = {"HTTPS_PROXY": f"http://127.0.0.1:{proxy.server_address[1]}"}
        client = Client(
            Endpoints("https://api.example", "https://pay.example", "t"),
            timeout=(5, 5),
            environ=environ,
        )
        with pytest.raises(CartError):
            client.token()
        client.close()
    assert proxy.lines and proxy.lines[0].startswith("CONNECT api.example:443 ")


def test_no_proxy_is_honoured():
    environ = {"HTTPS_PROXY": "http://proxy.example:3128", "NO_PROXY": "pay.example"}
    client = Client(Endpoints("https://api.example", "https://pay.example", "t"), environ=environ)
    assert client.http.proxies == {"https://api.example": "http://proxy.example:3128"}
    client.close()


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"https_proxy": "http://low:1", "HTTPS_PROXY": "http://up:1"}, "http://low:1"),
        ({"ALL_PROXY": "http://all:1"}, "http://all:1"),
        ({"HTTPS_PROXY": "http://p:1", "no_proxy": "*"}, None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": ".example"}, None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "other.example"}, "http://p:1"),
        ({"HTTP_PROXY": "http://p:1"}, None),  # an https URL takes HTTPS_PROXY only
    ],
)
def test_proxies_come_from_the_mapping_given(environ, expected):
    proxies = environ_proxies(environ, "https://api.example")
    assert proxies.get("https://api.example") == expected


def test_no_proxy_takes_cidr_networks():
    environ = {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "10.0.0.0/8"}
    assert environ_proxies(environ, "https://10.1.2.3:8443", "https://11.0.0.1") == {
        "https://11.0.0.1": "http://p:1"
    }


def test_the_process_environment_is_not_read(monkeypatch, tmp_path):
    """The Client takes the run's environment as a mapping: the process's is not its business."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "process.pem"))
    client = Client(Endpoints("https://api.example", "https://pay.example", "t"))
    assert client.http.proxies == {}
    assert client.verify is True
    client.close()
    bundle = str(tmp_path / "run.pem")
    client = Client(
        Endpoints("https://api.example", "https://pay.example", "t"),
        environ={"CURL_CA_BUNDLE": bundle},
    )
    assert client.verify == bundle
    client.close()


def test_the_session_ages_by_the_injected_clock(cart_sandbox):
    """A token is renewed when the client's clock says it is near its end, not the process's."""
    issued = datetime.now(timezone.utc).timestamp()
    now = [issued]
    client = Client(Endpoints(cart_sandbox.url, cart_sandbox.url, "t"), clock=lambda: now[0])
    first = client.token()
    assert client.token() == first
    now[0] = client._session.expires - 1  # by this clock, the token is at its end
    assert client.token() != first
    client.close()


def test_the_environment_is_not_read_per_request(cart_sandbox, tmp_path, monkeypatch):
    order = load_order(write_order(tmp_path / "o.yaml"), inputs=inputs())
    client = Client(Endpoints(cart_sandbox.url, cart_sandbox.url, "t"))
    reads = []

    def spy(name, real):
        def inner(*args, **kwargs):
            reads.append(name)
            return real(*args, **kwargs)

        return inner

    for name in ("get_netrc_auth", "get_environ_proxies", "should_bypass_proxies"):
        for module in (requests.utils, requests.sessions):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, spy(name, getattr(module, name)))
    for _ in range(2):
        place_order(order, client)
    client.close()
    assert reads == []


def test_a_fixed_run_clock_does_not_renew_the_token_on_every_call(cart_sandbox):
    """CART_CLI_NOW=2031: the server's own expiry is years before the run's clock; the token's
    life is counted from expires_in by the run's clock, so it is not renewed on every call."""
    when = datetime(2031, 9, 1, tzinfo=timezone.utc).timestamp()
    client = Client(Endpoints(cart_sandbox.url, cart_sandbox.url, "t"), clock=lambda: when)
    assert client.token() == client.token() == client.token()
    client.close()
