from __future__ import annotations

import os
import signal

# Sealed from the caller: nothing in the environment that runs the tests changes how cart-cli
# renders (width, colour, terminal kind, rich's and typer's switches) or what it targets. Dropped
# for the whole session, before rich or typer is imported (typer reads some at import), and again
# around every test; a test that wants one sets it itself. CART_CLI_NOW stays: `make test-2031`.
RENDERING_VARS = (
    "COLUMNS",
    "LINES",
    "TERM",
    "COLORTERM",
    "NO_COLOR",
    "FORCE_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "PY_COLORS",
    "TTY_COMPATIBLE",
    "TTY_INTERACTIVE",
    "JUPYTER_COLUMNS",
    "JUPYTER_LINES",
    "TERMINAL_WIDTH",
    "GITHUB_ACTIONS",  # typer forces a terminal under it
    "TYPER_USE_RICH",
    "TYPER_STANDARD_TRACEBACK",
    "_TYPER_STANDARD_TRACEBACK",
    "_TYPER_FORCE_DISABLE_TERMINAL",
    "PYTHONIOENCODING",
)
KEPT = ("CART_CLI_NOW",)


def stray_vars() -> list[str]:
    return [
        v
        for v in os.environ
        if v in RENDERING_VARS or (v.startswith("CART_CLI_") and v not in KEPT)
    ]


for _var in stray_vars():
    del os.environ[_var]

import inspect  # noqa: E402
import re  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

from tests.helpers import SECRET_CARD  # noqa: E402

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
    for var in stray_vars():  # what a test before may have left in the process
        monkeypatch.delenv(var, raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("CART_CLI_CACHE_DIR", str(cache))
    monkeypatch.setenv("CART_CLI_CONFIG", str(tmp_path / "config" / "config.toml"))
    monkeypatch.setenv("CART_CLI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))  # never the real home
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
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


# In CI, hypothesis draws the same examples every run: a red run can be reproduced from its log,
# and a green one does not turn red on a draw. At a desk the examples vary, to find new ones.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


# `make test-2031` runs again, with the clock at 2031, only the tests that write or read a date
# themselves: those are the ones that can go stale. A test is marked `clock` without anyone
# having to remember it when its own code, its parameters or a fixture of tests/ it uses says
# anything about dates (a year, date, datetime, expiry, CART_CLI_NOW, the clock, now, since...);
# `@pytest.mark.clock` marks one whose dates hide elsewhere.
DATE_WORDS = re.compile(
    r"\b(?:19|20)\d\d\b|\b(?:0?[1-9]|1[0-2])/\d\d\b|\b(?:dates?|datetime|today|now|utc|ttl)\b"
    r"|timedelta|\bexp_(?:year|month)\b|expir|CART_CLI_NOW|clock|since|tzinfo|strftime|isoformat",
    re.IGNORECASE,
)
TESTS = Path(__file__).resolve().parent


def _source(obj) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return ""


def reads_dates(item) -> bool:
    """Whether a collected test's own code, parameters or tests/ fixtures speak of dates."""
    texts = [_source(getattr(item, "function", None))]
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        texts.append(repr(callspec.params))
    for defs in item._fixtureinfo.name2fixturedefs.values():
        for fixturedef in defs:
            where = inspect.getsourcefile(fixturedef.func) or ""
            if Path(where).resolve().is_relative_to(TESTS):
                texts.append(_source(fixturedef.func))
    return any(DATE_WORDS.search(t) for t in texts)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("clock") is None and reads_dates(item):
            item.add_marker(pytest.mark.clock)
