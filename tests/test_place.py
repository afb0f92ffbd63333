"""cart-cli place end to end, over real HTTP against the sandbox (in-process CLI)."""

from __future__ import annotations

import json
import os
import stat

import pytest
import yaml

from cart_cli.sandbox import Sandbox
from tests.helpers import (
    ADDRESS,
    ANSI,
    GOOD_YEAR,
    SAMPLES,
    assert_no_secrets,
    cached_tokens,
    cli,
    sandbox_orders,
    target,
    write_order,
)


@pytest.fixture
def order_file(tmp_path):
    return write_order(tmp_path / "order.yaml")


def place(sandbox, *args, **kw):
    return cli(["place", *args, *target(sandbox)], **kw)


def test_places_an_order_with_progress_on_stderr_and_receipt_on_stdout(cart_sandbox):
    r = place(cart_sandbox, SAMPLES / "one-item.yaml")
    assert r.code == 0, r.stderr
    assert r.stderr.splitlines()[1:] == [
        "sending order to staging.luma.gift",
        "creating cart on staging.luma.gift",
        "item added 1/1 WS12-XS-Orange",
        "shipping set: Flat Rate (5-7 days) $5.00",
        "order placed: 000000001",
    ]
    out = r.stdout
    for text in (
        "Order 000000001",
        "Radiant Tee - Orange XS",
        "WS12-XS-Orange",
        "$22.00",
        "$44.00",
        "Flat Rate (5-7 days)",
        "$5.00",
        "$4.51",
        "$53.51",
        "Luma Store",
        "staging.luma.gift, magento",
        "Visa ending 1111",
        "Seattle, WA 98101",
        "https://staging.luma.gift/checkout/onepage/success",
        "Cart id",
        "Submitted at",
    ):
        assert text in out, text
    assert not ANSI.search(out + r.stderr)  # not a terminal: no colour
    assert len(sandbox_orders(cart_sandbox)) == 1


def test_three_items_with_separate_billing_sum_exactly(cart_sandbox):
    r = place(cart_sandbox, SAMPLES / "three-items.yaml", "--json")
    assert r.code == 0, r.stderr
    order = r.json()["order"]
    assert order["billing_info"]["first_name"] != order["shipping_info"]["first_name"]
    assert order["shipping_info"]["address2"] and order["shipping_info"]["company"]
    lines = sum(li["line_price"]["number"] for li in order["line_items"])
    assert lines == order["sub_total"]["number"]
    assert "item added 3/3" in r.stderr


def test_json_success_document(cart_sandbox, order_file):
    r = place(cart_sandbox, order_file, "--json")
    doc = r.json()
    assert r.code == 0
    assert doc["schema"] == "cart-cli.order-result/1" and doc["ok"] is True
    assert doc["merchant"] == "staging.luma.gift"
    assert doc["order"]["platform_order_number"] == "000000001"
    assert isinstance(doc["elapsed_ms"], int) and len(doc["request_id"]) == 32
    assert set(doc["stage_ms"]) >= {"session", "key", "encrypt", "submit", "order-placed"}


@pytest.mark.parametrize(
    ("over", "code", "name", "outcome"),
    [
        ({"card": "test:declined"}, 3, "ErrorPaymentDeclined", "not_placed"),
        ({"card": "test:insufficient-funds"}, 3, "ErrorPaymentDeclined", "not_placed"),
        ({"card": "test:expired"}, 3, "ErrorPaymentDeclined", "not_placed"),
        (
            {"items": [{"variant_id": "NOPE-1", "quantity": 1}]},
            4,
            "ErrorProductNotFound",
            "not_placed",
        ),
        (
            {"items": [{"variant_id": "MP05-32-Black", "quantity": 1}]},
            4,
            "ErrorNotEnoughStock",
            "not_placed",
        ),
        ({"merchant": "down.luma.gift"}, 5, "ErrorStoreUnavailable", "not_placed"),
        ({"merchant": "captcha.luma.gift"}, 9, "ErrorCaptchaRequired", "not_placed"),
        ({"merchant": "unknown.example"}, 2, "ErrorStoreNotFound", "not_placed"),
    ],
)
def test_failures_map_to_exit_codes_and_json(cart_sandbox, tmp_path, over, code, name, outcome):
    f = write_order(tmp_path / "o.yaml", **over)
    r = place(cart_sandbox, f)
    assert r.code == code, r.stderr
    assert r.stdout == ""
    (line,) = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    assert name in line and "request id" in line and "Traceback" not in r.stderr
    r = place(cart_sandbox, f, "--json", "--quiet")
    assert r.code == code
    doc = r.json()
    assert doc["ok"] is False and doc["error"]["code"] == name
    assert doc["error"]["outcome"] == outcome and len(doc["error"]["request_id"]) == 32
    assert sandbox_orders(cart_sandbox) == []


def test_no_sse_uses_the_json_answer(cart_sandbox, order_file):
    r = place(cart_sandbox, order_file, "--no-sse")
    assert r.code == 0 and "Order 000000001" in r.stdout
    assert r.stderr.splitlines()[1:] == [
        "sending order to staging.luma.gift",
        "order placed: 000000001",
    ]
    f = write_order(order_file, card="test:declined")
    assert place(cart_sandbox, f, "--no-sse").code == 3


def test_captcha_token_flag(cart_sandbox, tmp_path):
    f = write_order(tmp_path / "o.yaml", merchant="captcha.luma.gift")
    assert place(cart_sandbox, f, "--captcha-token", "tok").code == 0


def test_flags_only_order(cart_sandbox, tmp_path):
    ship = tmp_path / "ship.yaml"
    ship.write_text(yaml.safe_dump(ADDRESS))
    r = place(
        cart_sandbox,
        "--merchant",
        "staging.luma.gift",
        "--item",
        "24-MB01:2",
        "--item",
        "24-WG085",
        "--shipping",
        ship,
        "--card",
        "test:amex",
        "--json",
    )
    assert r.code == 0, r.stderr
    order = r.json()["order"]
    assert [(li["sku"], li["quantity"]) for li in order["line_items"]] == [
        ("24-MB01", 2),
        ("24-WG085", 1),
    ]
    assert order["payment_summary"]["card_type"] == "American Express"


def test_card_from_stdin(cart_sandbox, order_file, secret_card_file):
    r = place(cart_sandbox, order_file, "--card", "-", input=secret_card_file.read_text())
    assert r.code == 0, r.stderr
    assert "ending 4242" in r.stdout
    assert_no_secrets(r.stdout, r.stderr)


def test_env_substitution_end_to_end(cart_sandbox):
    env = {
        "CART_CARD_NUMBER": "5555555555554444",
        "CART_CARD_CVV": "737",
        "CART_CARD_MONTH": "8",
        "CART_CARD_YEAR": str(GOOD_YEAR),
    }
    r = place(cart_sandbox, SAMPLES / "card-from-env.yaml", env=env)
    assert r.code == 0, r.stderr
    assert "Mastercard ending 4444" in r.stdout
    r = place(
        cart_sandbox,
        SAMPLES / "card-from-env.yaml",
        env={"CART_CARD_NUMBER": None, "CART_CARD_CVV": None, "CART_CARD_YEAR": str(GOOD_YEAR)},
    )
    assert r.code == 2
    assert "environment variable CART_CARD_NUMBER is not set" in r.stderr
    assert "card-from-env.yaml:" in r.stderr


def test_the_env_sample_says_every_variable_it_needs_in_its_export_line():
    import re

    text = (SAMPLES / "card-from-env.yaml").read_text()
    used = set(re.findall(r"\$\{(\w+)\}", text))
    export = next(line for line in text.splitlines() if line.startswith("#   export "))
    assert used == set(re.findall(r"(\w+)=", export)) and len(used) == 4


def test_invalid_order_is_exit_2_before_any_request(cart_sandbox, tmp_path):
    f = write_order(tmp_path / "o.yaml", items=[{"variant_id": "X", "quantity": 0}])
    r = place(cart_sandbox, f, "--json")
    assert r.code == 2
    assert f"{f}:4: items[0].quantity: input should be greater than or equal to 1" in r.stderr
    assert r.json()["error"]["code"] == "InvalidOrder"
    r = cli(["place", f, "--api-url", "http://127.0.0.1:9"])  # would be exit 7 if it connected
    assert r.code == 2


def test_card_number_flag_is_refused(cart_sandbox, order_file):
    r = place(cart_sandbox, order_file, "--card", "4242424242424242")
    assert r.code == 2 and "never accepted as a flag value" in r.stderr
    assert_no_secrets(r.stdout, r.stderr)


def test_dry_run_sends_no_order_and_shows_no_card(cart_sandbox, order_file):
    r = place(cart_sandbox, order_file, "--dry-run", "--card", "test:visa")
    assert r.code == 0, r.stderr
    doc = r.json()
    assert doc["dry_run"] is True
    assert doc["schema"] == "cart-cli.dry-run/1" and doc["flow"] == "place-order"
    assert doc["method"] == "POST"
    assert doc["url"] == (
        f"{cart_sandbox.url}/api/v1/payment/domains/staging.luma.gift/place-order?sse=true"
    )
    assert doc["body"]["encrypted_card"].startswith("JWE (kid sbx-")
    assert doc["body"]["encrypted_card"].endswith(", 5 parts)")
    assert doc["body"]["items"] == [{"variant_id": "WS12-XS-Orange", "quantity": 1}]
    assert "4111" not in r.stdout
    assert sandbox_orders(cart_sandbox) == []


def test_plain_http_is_refused_except_on_loopback(order_file):
    r = cli(["place", order_file, "--api-url", "http://example.com", "--app-id", "x"])
    assert r.code == 2 and "plain http" in r.stderr
    r = cli(["place", order_file, "--app-id", "x", "--api-url", "ftp://x"])
    assert r.code == 2 and "not an http(s) URL" in r.stderr


def test_missing_app_id_is_a_usage_error(order_file):
    r = cli(["place", order_file])
    assert r.code == 2 and "--app-id" in r.stderr


def test_unreachable_server_is_exit_7(order_file):
    import socket

    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    r = cli(
        ["place", order_file, "--api-url", url, "--payment-url", url, "--app-id", "x", "--json"]
    )
    assert r.code == 7
    assert "cannot reach 127.0.0.1" in r.stderr and "connection refused" in r.stderr
    assert r.json()["error"]["outcome"] == "not_placed"


def test_bad_app_id_is_exit_6(order_file):
    with Sandbox(app_ids=frozenset({"right"})) as sb:
        r = cli(
            ["place", order_file, "--api-url", sb.url, "--payment-url", sb.url, "--app-id", "wrong"]
        )
    assert r.code == 6 and "InvalidAppId" in r.stderr and "--app-id" in r.stderr


def test_internal_error_is_exit_1_without_traceback_unless_debug(
    cart_sandbox, order_file, monkeypatch
):
    import cart_cli.core.checkout as checkout

    def boom(*a, **k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(checkout, "encrypt_card", boom)
    r = place(cart_sandbox, order_file)
    assert r.code == 1 and "internal error" in r.stderr and "Traceback" not in r.stderr
    r = place(cart_sandbox, order_file, "--debug")
    assert r.code == 1 and "Traceback" in r.stderr and "kaboom" in r.stderr


def test_quiet_prints_no_progress(cart_sandbox, order_file):
    r = place(cart_sandbox, order_file, "--quiet")
    assert r.code == 0 and r.stderr == "" and "Order 000000001" in r.stdout


# ---- token cache ---


def _log_sandbox():
    lines: list[str] = []
    return Sandbox(log=lines.append), lines


def test_token_is_cached_0600_in_a_0700_dir_and_reused(order_file, cache_dir):
    sb, log = _log_sandbox()
    with sb:
        args = ["place", order_file, "--api-url", sb.url, "--payment-url", sb.url, "--app-id", "a"]
        assert cli(args).code == 0
        assert cli(args).code == 0
    sessions = [x for x in log if x.startswith("POST /api/v1/browser-session")]
    assert len(sessions) == 1  # the second run used the cached token
    (f,) = cache_dir.glob("session-*.json")
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(cache_dir).st_mode) == 0o700
    assert json.loads(f.read_text())["api_url"] == sb.url


def test_token_near_expiry_is_renewed_keeping_the_device(order_file, cache_dir):
    lines: list[str] = []
    with Sandbox(token_ttl=4, log=lines.append) as sb:
        args = ["place", order_file, "--api-url", sb.url, "--payment-url", sb.url, "--app-id", "a"]
        assert cli(args).code == 0
        cached = next(cache_dir.glob("session-*.json"))
        first = json.loads(cached.read_text())
        device, first_token = first["device_id"], first["access_token"]
        assert cli(args).code == 0  # a fresh token is reused ...
        # ... until under half its lifetime (or two minutes) is left: as if 2.9 s had passed
        # (under CART_CLI_NOW every run's clock starts at the same instant, so no real time
        # between the runs may be counted on)
        aged = {"obtained": first["obtained"] - 2.9, "expires": first["expires"] - 2.9}
        cached.write_text(json.dumps({**first, **aged}))
        assert cli(args).code == 0
        renewed = json.loads(next(cache_dir.glob("session-*.json")).read_text())
    assert renewed["device_id"] == device and renewed["access_token"] != first_token
    assert len([x for x in lines if x.startswith("POST /api/v1/browser-session")]) == 2


def test_a_token_the_server_refuses_is_renewed_once(order_file, cache_dir):
    with Sandbox() as first:
        url = first.url
        args = ["place", order_file, "--api-url", url, "--payment-url", url, "--app-id", "a"]
        assert cli(args).code == 0
    # Same URL, new server (new signing secret): the cached token is refused with 401.
    port = int(url.rsplit(":", 1)[1])
    with Sandbox(port=port) as second:
        r = cli([*args, "--json"])
        assert r.code == 0, r.stderr
        assert len(sandbox_orders(second)) == 1


def test_corrupt_cache_file_is_ignored(order_file, cache_dir, cart_sandbox):
    cache_dir.mkdir(mode=0o700)
    assert place(cart_sandbox, order_file).code == 0
    (f,) = cache_dir.glob("session-*.json")
    f.write_text("{not json")
    assert place(cart_sandbox, order_file).code == 0


# ---- secrets ---


def test_no_card_or_token_in_any_output_log_or_cache(
    cart_sandbox, order_file, secret_card_file, cache_dir
):
    outputs = []
    for extra in ([], ["--json"], ["--debug"], ["--debug", "--no-sse"], ["--dry-run"]):
        r = place(cart_sandbox, order_file, "--card", secret_card_file, *extra)
        assert r.code == 0, r.stderr
        outputs += [r.stdout, r.stderr]
    debug = outputs[5]
    assert "<x-firmly-authorization redacted" in debug and "<encrypted_card redacted>" in debug
    assert "x-firmly-request-id" in debug
    assert_no_secrets(*outputs, paths=[cache_dir], tokens=cached_tokens(cache_dir))


def test_no_card_in_failure_messages(cart_sandbox, order_file, tmp_path):
    card = tmp_path / "card.yaml"
    card.write_text(
        yaml.safe_dump(
            {"number": "4242424242424241", "name": "X", "month": 1, "year": 2020, "cvv": "8317"}
        )
    )
    r = place(cart_sandbox, order_file, "--card", card, "--debug")
    assert r.code == 2
    assert "4242424242424241" not in r.stderr and "8317" not in r.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (b"\x00\x01\x02", "binary data"),
        (b"merchant: caf\xe9", "not UTF-8 text"),
        (
            b"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + b"".join(
                b"%c: &%c [" % (c, c) + b", ".join([b"*%c" % (c - 1)] * 10) + b"]\n"
                for c in range(ord("b"), ord("h"))
            ),
            "too many aliases",
        ),
        (b"items: nope", "items: input should be a valid list"),
    ],
)
def test_hostile_files_are_exit_2_with_one_clear_message(cart_sandbox, tmp_path, content, message):
    f = tmp_path / "o.yaml"
    f.write_bytes(content)
    r = place(cart_sandbox, f)
    assert r.code == 2 and message in r.stderr and "Traceback" not in r.stderr
    assert sandbox_orders(cart_sandbox) == []


def test_no_order_at_all_says_what_to_give():
    r = cli(["place", "--api-url", "http://127.0.0.1:9", "--payment-url", "http://127.0.0.1:9"])
    assert r.code == 2 and "no order given: pass ORDER.yaml" in r.stderr
    assert "with --sandbox and no order, cart-cli places its example order" in r.stderr


def test_no_order_with_the_sandbox_places_the_example_that_ships_in_the_package():
    from cart_cli.core.defaults import example_path

    r = cli(["place", "--sandbox", "--json"])
    assert r.code == 0, r.stderr
    assert f"no order file: placing the example {example_path()}" in r.stderr
    assert r.json()["order"]["platform_order_number"] == "000000001"
    assert example_path() == (SAMPLES / "one-item.yaml").resolve()  # sample_orders/ links there


def test_sample_orders_shows_users_only_orders():
    """sample_orders/ links to cart_cli/examples: a folder of package data, not a package (an
    __init__.py there is noise to a user looking for an order to copy)."""
    shown = {p.name for p in SAMPLES.iterdir() if p.name != "__pycache__"}
    assert shown and all(name.endswith(".yaml") for name in shown), shown


@pytest.mark.parametrize("json_out", [False, True])
def test_a_card_written_as_number_colon_cvv_is_never_echoed(order_file, json_out):
    args = ["place", order_file, "--card", "-", "--app-id", "t", *(["--json"] if json_out else [])]
    r = cli(args, input="4111111111111111: 737\n")  # cli() checks no card number is in any output
    assert r.code == 2
    assert "card: a field that is not a card field (not shown: it may be the number)" in r.stderr
    if json_out:
        assert r.json()["error"]["code"] == "InvalidOrder"


def test_an_octal_looking_cvv_is_refused_not_sent_as_another_number(cart_sandbox, order_file):
    card = order_file.parent / "card.yaml"
    card.write_text(
        f"number: '4111111111111111'\nname: A\nmonth: 1\nyear: {GOOD_YEAR}\ncvv: 0737\n"
    )
    r = place(cart_sandbox, order_file, "--card", card)
    assert r.code == 2 and f'{card}:5: card.cvv: quote it (cvv: "...")' in r.stderr
    assert sandbox_orders(cart_sandbox) == []


def test_debug_redacts_secret_headers_a_user_gives_in_any_case(cart_sandbox, order_file):
    """-H 'X-Firmly-Authorization: ...' (or Authorization, Cookie) is as secret as the token."""
    secrets = {
        "X-Firmly-Authorization": "user-token-0123456789",
        "AUTHORIZATION": "Bearer basic-secret-0123",
        "Cookie": "session=cookie-secret-0123",
    }
    headers = [a for k, v in secrets.items() for a in ("-H", f"{k}: {v}")]
    r = place(cart_sandbox, order_file, "--debug", "--dry-run", *headers)
    for name, value in secrets.items():
        assert value not in r.stderr and value.split()[-1] not in r.stderr
        assert f"<{name} redacted, {len(value)} chars>" in r.stderr
    from cart_cli.core.transport import redact_headers

    assert redact_headers({"X-Firmly-App-Id": "app"}) == {"X-Firmly-App-Id": "app"}  # not secret
