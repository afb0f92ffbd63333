from __future__ import annotations

import signal

import pytest

from tests.helpers import SECRET_CARD

# A run started in the background by a non-interactive shell (`make test &`, some CI runners)
# inherits SIGINT *ignored*, and so would every cart-cli the tests start: the Ctrl-C tests would
# see nothing happen. A handler (unlike SIG_IGN) is reset to the default in a child at exec, so
# giving this process one gives every child the Ctrl-C a user's terminal gives it.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

pytest_plugins = []  # the cart_sandbox fixtures come from cart-cli's own pytest plugin


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """Each test gets its own cache, config, data and working dirs, and no stray config."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("CART_CLI_CACHE_DIR", str(cache))
    monkeypatch.setenv("CART_CLI_CONFIG", str(tmp_path / "config" / "config.toml"))
    monkeypatch.setenv("CART_CLI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))  # never the real home
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    for var in (
        "CART_CLI_API_URL",
        "CART_CLI_PAYMENT_URL",
        "CART_CLI_APP_ID",
        "CART_CLI_PROFILE",
        "NO_COLOR",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    return cache


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"


@pytest.fixture
def secret_card_file(tmp_path):
    import yaml

    path = tmp_path / "card.yaml"
    path.write_text(yaml.safe_dump(SECRET_CARD))
    return path


@pytest.fixture
def http_server():
    """Start a plain HTTP server on loopback for a handler class; returns its URL. Stopped after
    the test. For answers a real server might give that the sandbox never does."""
    import threading
    from http.server import ThreadingHTTPServer

    servers = []

    def start(handler) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()
