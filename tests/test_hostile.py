"""The client against a hostile server (issue 17): redirects, drips, endless streams, bombs and
garbage each end in their documented exit code, in bounded time and memory, and nothing is ever
sent to a host other than the configured ones."""

from __future__ import annotations

import pytest

from tests import hostile as h
from tests.helpers import cli, sandbox_orders, write_order

pytestmark = pytest.mark.timeout(20)


def place(tmp_path, url: str, *extra: str, flow: str | None = None):
    f = write_order(tmp_path / "o.yaml")
    args = ["place", f, "--api-url", url, "--payment-url", url, "--app-id", "a", *extra]
    if flow:
        args += ["--flow", flow]
    return cli(args)


def error_line(run) -> str:
    lines = [x for x in run.stderr.splitlines() if x.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    return lines[0]


@pytest.fixture
def capture():
    """The other host a redirect names: it must never receive a connection."""
    with h.Hostile(h.good_routes()) as other:
        yield other


REDIRECTS = [301, 302, 303, 307, 308]


@pytest.mark.parametrize("status", REDIRECTS)
@pytest.mark.parametrize("route", ["/browser-session", "/payment/key"])
def test_a_redirect_before_the_order_is_not_followed_and_not_placed(
    tmp_path, capture, route, status
):
    where = f"http://evil.example:{capture.port}/steal" if status != 303 else capture.url + "/x"
    with h.Hostile(h.good_routes(**{route: h.redirect(status, where)})) as server:
        run = place(tmp_path, server.url)
    assert run.code == 5, run.stderr
    line = error_line(run)
    assert f"HTTP {status}" in line and ("evil.example" in line or "127.0.0.1" in line)
    assert "may have been placed" not in run.stderr
    assert capture.connections == 0 and capture.requests == []
    assert "/place-order" not in " ".join(server.paths())
    assert sum(p.endswith(route) for p in server.paths()) == 1  # nothing resent


@pytest.mark.parametrize("status", REDIRECTS)
@pytest.mark.parametrize("flow", ["place-order", "cart"])
def test_a_redirected_order_call_is_not_resent_and_its_outcome_is_stated(
    tmp_path, capture, status, flow
):
    where = capture.url + "/api/v1/payment/domains/x/place-order"
    routes = h.good_routes(
        **{"/place-order": h.redirect(status, where), "/complete-order": h.redirect(status, where)}
    )
    routes.update(cart_routes())
    with h.Hostile(routes) as server:
        run = place(tmp_path, server.url, flow=flow)
    order_calls = [p for p in server.paths() if p.endswith(("/place-order", "/complete-order"))]
    assert len(order_calls) == 1  # sent once, never again
    assert capture.connections == 0
    line = error_line(run)
    assert f"HTTP {status}" in line and "127.0.0.1" in line
    if status in (301, 307, 308):  # "the resource is elsewhere": not processed here
        assert run.code == 5 and "not placed" in line
        assert "may have been placed" not in run.stderr
    else:  # 302/303 can be the answer to a POST that was processed
        assert run.code == 8 and "may or may not have been placed" in run.stderr


def cart_routes() -> dict:
    cart = {
        "line_items": [],
        "shipping_method_options": [{"sku": "std", "price": {"currency": "USD", "value": 0}}],
        "shipping_method": {"sku": "std"},
    }
    return {
        "/line-items": h.answer(cart),
        "/shipping-info": h.answer(cart),
        "/shipping-method": h.answer(cart),
        "/quantity/1": h.answer(cart),
    }


# ---- deadlines: a drip cannot stretch a call past --timeout ---------------------------------

KEEPALIVE = b": keepalive\n"
DRIPS = {
    "session body drip": ("/browser-session", h.drip(b'{"access_token": "', b"a", 0.2), 7),
    "session header drip": ("/browser-session", h.drip_head(0.2), 7),
    "100 Continue flood": ("/payment/key", h.continue_flood(0.02), 7),
    "key body drip": ("/payment/key", h.drip(b"{", b" ", 0.2), 7),
    "SSE comment drip": ("/place-order", h.drip(b"", KEEPALIVE, 0.2, "text/event-stream"), 8),
}


@pytest.mark.parametrize("case", DRIPS)
def test_a_dripping_server_cannot_stretch_a_call_past_the_timeout(tmp_path, case):
    import time

    import jose.jwe  # noqa: F401

    import cart_cli.cli.commands.place
    import cart_cli.core.client  # noqa: F401

    route, handler, code = DRIPS[case]
    with h.Hostile(h.good_routes(**{route: handler})) as server:
        started = time.monotonic()
        run = place(tmp_path, server.url, "--timeout", "1")
        took = time.monotonic() - started
    assert run.code == code, run.stderr
    assert "timed out" in error_line(run)
    assert took < 2.0, took  # --timeout plus a second, however the server drips
    if code == 8:
        assert "may or may not have been placed" in run.stderr


# ---- limits: memory stays bounded, whatever the server sends ------------------------------


# Peak RSS is measured by a small launcher that forks and waits for cart-cli: on Linux a child's
# ru_maxrss starts at the RSS of the process it was forked from, and a pytest worker measuring
# coverage is over 300 MB before cart-cli has read a byte.
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stdout.write(f"{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}")
sys.exit(os.waitstatus_to_exitcode(status) % 256)
"""


def run_measured(tmp_path, url: str, *extra: str, timeout: float = 20):
    """cart-cli place in a subprocess: (exit code, stderr, CPU seconds, peak RSS in MiB); its
    wall time is bounded by ``timeout``."""
    import subprocess
    import sys
    import time

    from tests.helpers import CLI

    f = write_order(tmp_path / "o.yaml")
    args = [CLI, "place", str(f), "--api-url", url, "--payment-url", url, "--app-id", "a", *extra]
    started = time.monotonic()
    p = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *args],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout + 10,
    )
    took = time.monotonic() - started
    assert took < timeout
    maxrss, cpu = p.stdout.decode().split()  # the child's own peak (KiB on Linux) and CPU
    return p.returncode, p.stderr.decode(), float(cpu), int(maxrss) / 1024


ENDLESS = {
    "endless keepalive comments": (
        "/place-order",
        h.endless(b"", KEEPALIVE),
        8,
        "larger than|timed out",  # the 32 MiB limit or --timeout without an event
    ),
    "an SSE line that never ends": (
        "/place-order",
        h.endless(b"data: ", b"x"),
        8,
        "line is longer|timed out",
    ),
    "an SSE event that never ends": (
        "/place-order",
        h.endless(b"event: order-placed\n", b"data: x\n"),
        8,
        "event is larger|event has more than|timed out",
    ),
    "an endless JSON key": (
        "/payment/key",
        h.endless(b'{"n": "', b"A", "application/json"),
        5,
        "limit",
    ),
    "a gzip bomb for a session": ("/browser-session", h.gzip_bomb(), 5, "gzip"),
    "a gzip bomb for an order": ("/place-order", h.gzip_bomb("text/event-stream"), 8, "gzip"),
}


@pytest.mark.parametrize("case", ENDLESS)
def test_endless_and_expanding_answers_end_with_their_code_in_bounded_memory(tmp_path, case):
    route, handler, code, words = ENDLESS[case]
    with h.Hostile(h.good_routes(**{route: handler})) as server:
        exit_code, err, took, rss = run_measured(tmp_path, server.url, "--timeout", "1")
    assert exit_code == code, err
    line = [x for x in err.splitlines() if x.startswith("error:")]
    assert len(line) == 1 and "Traceback" not in err, err
    assert any(w in line[0] for w in words.split("|")), line
    assert rss < 200, rss
    assert took < 5, took  # CPU seconds, start-up included


# ---- garbage: every decoding failure has its code ----------------------------------------

DEEP = b'{"a": ' * 5000 + b"1" + b"}" * 5000


def key_with(**over) -> dict:
    return {**h.jwk(), **over}


GARBAGE = {
    # before the order is sent: a protocol error, exit 5, nothing placed
    "deep JSON session": ("/browser-session", h.raw_json(DEEP), 5),
    "invalid UTF-8 session": ("/browser-session", h.raw_json(b'{"access_token": "\xff"}'), 5),
    "expires_in 1e400": (
        "/browser-session",
        h.raw_json(b'{"access_token": "t", "expires_in": 1e400}'),
        5,
    ),
    "expires_in 1e300": (
        "/browser-session",
        h.answer({"access_token": "tok-hostile-x", "expires_in": 1e300}),
        0,
    ),
    "expires a string": (
        "/browser-session",
        h.answer({"access_token": "tok-hostile-x", "expires": "x"}),
        0,
    ),
    "token not a string": ("/browser-session", h.answer({"access_token": 5}), 5),
    "token with CRLF": ("/browser-session", h.answer({"access_token": "a\r\nX-Evil: 1"}), 5),
    "device id a list": ("/browser-session", h.answer({**h.SESSION, "device_id": []}), 0),
    "deep JSON key": ("/payment/key", h.raw_json(DEEP), 5),
    "key e=1": ("/payment/key", lambda r, c: h.answer(key_with(e=h.b64(1)))(r, c), 5),
    "key tiny n": ("/payment/key", lambda r, c: h.answer(key_with(n=h.b64(3233)))(r, c), 5),
    "key n not base64": ("/payment/key", lambda r, c: h.answer(key_with(n="!!!"))(r, c), 5),
    "key n a number": ("/payment/key", lambda r, c: h.answer(key_with(n=12345))(r, c), 5),
    "deep JSON error body": ("/browser-session", h.raw_json(DEEP, 400), 5),
    "error name a list": ("/browser-session", h.answer({"error": ["x"]}, 400), 5),
    # after the order was sent: unknown, exit 8
    "deep JSON order": ("/place-order", h.raw_json(DEEP), 8),
    "invalid UTF-8 order": ("/place-order", h.raw_json(b'{"platform_order_number": "\xff"}'), 8),
    "deep JSON order error": ("/place-order", h.raw_json(DEEP, 500), 8),
    "invalid UTF-8 event": (
        "/place-order",
        h.sse_answer(b'event: order-placed\ndata: {"platform_order_number": "\xff"}\n\n'),
        8,
    ),
    "deep JSON event": (
        "/place-order",
        h.sse_answer(b"event: order-placed\ndata: " + DEEP + b"\n\n"),
        8,
    ),
    "order number a list": ("/place-order", h.answer({"platform_order_number": [1]}), 8),
    # the order is known placed, only a decorative field is broken: exit 0 with a warning
    "urls a string": ("/place-order", h.answer({**h.ORDER, "urls": "x"}), 0),
    "total out of range": (
        "/place-order",
        h.answer({**h.ORDER, "total": {"currency": "USD", "value": "1e999999999"}}),
        0,
    ),
    "line items a string": ("/place-order", h.answer({**h.ORDER, "line_items": "x"}), 0),
    "total a list": ("/place-order", h.answer({**h.ORDER, "total": [1]}), 0),
}


@pytest.mark.parametrize("case", GARBAGE)
def test_garbage_in_any_answer_has_its_exit_code(tmp_path, case):
    route, handler, code = GARBAGE[case]
    with h.Hostile(h.good_routes(**{route: handler})) as server:
        run = (
            place(tmp_path, server.url, "--no-sse")
            if "event" not in case
            else place(tmp_path, server.url)
        )
    assert run.code == code, run.stderr
    assert "Traceback" not in run.stderr and "a bug" not in run.stderr, run.stderr
    if code:
        error_line(run)
    if code == 5:
        assert "/place-order" not in " ".join(server.paths())
    if code == 8:
        assert "may or may not have been placed" in run.stderr


def test_a_placed_order_with_a_broken_decorative_field_is_placed_with_a_warning(tmp_path):
    routes = h.good_routes(**{"/place-order": h.answer({**h.ORDER, "urls": "x", "total": [1]})})
    with h.Hostile(routes) as server:
        run = place(tmp_path, server.url, "--no-sse")
    assert run.code == 0 and "H-1" in run.stdout
    assert "urls was left out" in run.stderr and "total was left out" in run.stderr


def test_a_request_refused_before_it_left_is_not_sent_never_may_have_been_placed(tmp_path):
    """requests refuses a header value with a line break locally: the order never left."""
    from cart_cli.core.client import Client, Endpoints
    from cart_cli.core.errors import OutcomeUnknown, ServerError

    with h.Hostile(h.good_routes()) as server:
        client = Client(Endpoints(server.url, server.url, "a"), extra_headers={"x-a": "1\r\n2"})
        with pytest.raises(ServerError) as e:
            client.place_order("m.example", {"x": 1}, sse=False)
        client.close()
    assert not isinstance(e.value, OutcomeUnknown) and e.value.exit_code == 5
    assert "not sent" in e.value.message
    assert not any(p.endswith("/place-order") for p in server.paths())


# ---- a dead target fails fast ----------------------------------------------------------------


def free_port() -> int:
    """A loopback port where nothing listens (bound, then closed)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_dead_target_fails_fast_and_resume_runs_the_rest(tmp_path):
    import time

    from cart_cli.sandbox import Sandbox
    from tests.test_batch import distinct_orders

    f = distinct_orders(tmp_path / "o.yaml", 30)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["batch", f, "--api-url", url, "--payment-url", url, "--app-id", "a", "--json"]
    started = time.monotonic()
    run = cli([*args, "--concurrency", "8"])
    took = time.monotonic() - started
    assert run.code == 7, run.stderr
    doc = run.json()
    not_run = [o for o in doc["orders"] if o["status"] == "not_run"]
    assert len(not_run) >= 15 and "looks dead" in not_run[0]["note"]
    assert took < 8, took  # 3 rounds of connection retries at most, not one per order
    with Sandbox(port=port) as sb:  # back: --resume runs what was not run (and what failed)
        again = cli([*args, "--resume", "--concurrency", "8"])
        assert again.code == 0, again.stderr
        assert again.json()["placed"] == 30 and len(sandbox_orders(sb)) == 30


def test_sigterm_while_orders_retry_a_dead_target_ends_the_run_within_two_seconds(tmp_path):
    import signal
    import subprocess
    import time

    from tests.helpers import CLI
    from tests.test_batch import distinct_orders

    f = distinct_orders(tmp_path / "o.yaml", 40)
    url = f"http://127.0.0.1:{free_port()}"
    proc = subprocess.Popen(
        [
            CLI,
            "batch",
            str(f),
            "--api-url",
            url,
            "--payment-url",
            url,
            "--app-id",
            "a",
            "--concurrency=2",
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    ledger = tmp_path / ".cart-cli-ledger.jsonl"
    try:
        waited = time.monotonic()
        while not (ledger.exists() and '"result"' in ledger.read_text()):  # one order failed:
            assert time.monotonic() - waited < 15 and proc.poll() is None  # the next ones retry
            time.sleep(0.02)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
        took = time.monotonic() - sent
    finally:
        proc.kill()
    assert proc.returncode in (7, 130), err
    assert took < 3, took  # 2 s on a quiet machine; 20 s before (one retry round per order)


CART_GARBAGE = {
    "line_items a number": {"line_items": 5},
    "options a number": {"shipping_method_options": 7, "shipping_method": {"sku": "std"}},
    "options of strings": {"shipping_method_options": ["a", 1], "shipping_method": "std"},
    "total a string": {"total": "x", "line_items": [{"price": "x", "quantity": "2"}]},
    "a list for a cart": [1, 2],
}


@pytest.mark.parametrize("case", CART_GARBAGE)
def test_garbage_in_a_cart_answer_has_its_code(tmp_path, case):
    """The cart flow's answers before complete-order: broken ones are exit 5 (nothing placed),
    or taken as far as they can be read; never an internal error."""
    cart = CART_GARBAGE[case]
    routes = h.good_routes(**{k: h.answer(cart) for k in cart_routes()})
    with h.Hostile(routes) as server:
        run = place(tmp_path, server.url, flow="cart")
    assert run.code in (0, 5), run.stderr
    assert "Traceback" not in run.stderr and "a bug" not in run.stderr, run.stderr
    if run.code == 5:
        assert not any(p.endswith("/complete-order") for p in server.paths())


def cut_short(req, conn) -> None:
    conn.send(h.head(200, length=100) + b'{"platform_order_number": ')
    conn.close()


CUT = {
    "session answer cut short": ("/browser-session", cut_short, 7, "broke off"),
    "order answer cut short": ("/place-order", cut_short, 8, "broke off"),
    "redirect to an unreadable place": (
        "/payment/key",
        h.redirect(307, "http://[::1/x"),
        5,
        "unreadable location",
    ),
    "unlisted encoding": ("/payment/key", h.raw_json(b"{}", content_encoding="br"), 5, "'br'"),
}


@pytest.mark.parametrize("case", CUT)
def test_answers_cut_short_or_unreadable_have_their_code(tmp_path, case):
    route, handler, code, words = CUT[case]
    with h.Hostile(h.good_routes(**{route: handler})) as server:
        run = place(tmp_path, server.url, "--no-sse")
    assert run.code == code, run.stderr
    assert words in error_line(run)
