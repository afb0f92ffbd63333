"""The client reads the environment (proxies, CA bundle) once, when it is made, not on every
request, and still honours a proxy."""

from __future__ import annotations

import socketserver
import threading

import pytest
import requests

from cart_cli.core.checkout import place_order
from cart_cli.core.client import Client, Endpoints
from cart_cli.core.errors import CartError
from cart_cli.core.order import load_order
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


def test_a_proxy_from_the_environment_is_used(monkeypatch):
    with RecordingProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        client = Client(
            Endpoints("https://api.example", "https://pay.example", "t"), timeout=(5, 5)
        )
        with pytest.raises(CartError):
            client.token()
        client.close()
    assert proxy.lines and proxy.lines[0].startswith("CONNECT api.example:443 ")


def test_no_proxy_is_honoured(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "pay.example")
    client = Client(Endpoints("https://api.example", "https://pay.example", "t"))
    assert client.http.proxies == {"https://api.example": "http://proxy.example:3128"}
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
