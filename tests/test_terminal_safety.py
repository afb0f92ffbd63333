"""Nothing from data reaches the terminal as control. Text from an order file, the environment or
an API answer is shown through one function (wire.text.safe): C0/C1 controls, ESC, DEL, bidi
overrides, isolates and marks are shown as visible escapes (ESC as \\x1b, U+202E as \\u202e);
JSON keeps the data exact; rich markup in data is printed as text."""

from __future__ import annotations

import json
import unicodedata
from http.server import BaseHTTPRequestHandler

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cart_cli.sandbox import Sandbox
from cart_cli.wire.text import safe
from tests.helpers import (
    ADDRESS,
    SAMPLES,
    cli,
    order_doc,
    pty_exit_code,
    spawn_on_a_pty,
    target,
)

BIDI_CLASSES = {"LRE", "RLE", "PDF", "LRO", "RLO", "LRI", "RLI", "FSI", "PDI"}
MARKS = {"\u200e", "\u200f", "\u061c"}  # LRM, RLM, ALM


def acts_on_a_terminal(ch: str) -> bool:
    """Independently of safe(): by Unicode's own categories and bidi classes."""
    return (
        unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp")
        or unicodedata.bidirectional(ch) in BIDI_CLASSES
        or ch in MARKS
    )


ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=80)  # surrogates too


@given(ANY_TEXT)
def test_safe_text_holds_nothing_that_acts_on_a_terminal(text):
    shown = safe(text)
    assert not any(acts_on_a_terminal(ch) for ch in shown)
    shown.encode("utf-8")  # writable to any UTF-8 stream (no lone surrogate)
    assert safe(shown) == shown  # already safe: unchanged


@given(ANY_TEXT)
def test_clean_text_is_kept_exactly(text):
    clean = "".join(ch for ch in text if not acts_on_a_terminal(ch))
    assert safe(clean) == clean


@given(ANY_TEXT)
def test_nothing_is_dropped_each_control_is_shown(text):
    shown = safe(text)
    for ch in set(text):
        if acts_on_a_terminal(ch):
            o = ord(ch)
            assert (
                {"\t": "\\t", "\n": "\\n", "\r": "\\r"}.get(ch)
                or (f"\\x{o:02x}" if o <= 0xFF else f"\\u{o:04x}")
            ) in shown


@given(st.lists(ANY_TEXT, min_size=1, max_size=4))
def test_a_message_of_lines_keeps_its_line_breaks_only(lines):
    lines = [line.replace("\n", "") for line in lines]
    shown = safe("\n".join(lines), lines=True)
    assert shown.split("\n") == [safe(line) for line in lines]


def test_the_escapes_a_person_sees():
    assert safe("Ada\x1b[31mRED\x1b]0;pwned\x07") == "Ada\\x1b[31mRED\\x1b]0;pwned\\x07"
    assert safe("txt\u202eexe.") == "txt\\u202eexe."
    assert safe("[red]x[/red] café 😀 名前") == "[red]x[/red] café 😀 名前"
    assert safe(42) == "42"


# ---- end to end: escape sequences in every printed field ---

HOSTILE = "\x1b[31mRED\x1b]0;pwned\x07\u202e[red]mk[/red]\x9b2J"
RAW = ("\x1b[31mRED", "\x1b]0;", "\x07", "\u202e", "\x9b")  # what must never come out raw
SHOWN = "\\x1b]0;pwned\\x07\\u202e[red]mk[/red]"  # what a person sees instead
SKU = "SKU\x1b]0;pwned\x07\u202e"  # a SKU travels in URL paths: no "/" in it
DOMAIN = "shop.test"


def assert_safe(*texts: str) -> None:
    for text in texts:
        for raw in RAW:
            assert raw not in text, (raw, text)


def hostile_catalog(path, stock: int = 100):
    path.write_text(
        yaml.safe_dump(
            {
                "merchants": {
                    DOMAIN: {
                        "display_name": f"Shop {HOSTILE}",
                        "products": [
                            {
                                "sku": SKU,
                                "description": f"Tee {HOSTILE}",
                                "price": "9.99",
                                "stock": stock,
                            }
                        ],
                    }
                }
            },
            allow_unicode=True,
        )
    )
    return path


def hostile_order(path, **over):
    address = {
        **ADDRESS,
        "first_name": f"Ada{HOSTILE}",
        "last_name": f"Love{HOSTILE}",
        "company": f"Co{HOSTILE}",
        "address1": f"1 Main{HOSTILE}",
        "city": f"Seattle{HOSTILE}",
    }
    doc = order_doc(
        merchant=DOMAIN, items=[{"variant_id": SKU, "quantity": 1}], shipping_info=address
    )
    doc.update(over)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    return path


@pytest.fixture
def hostile(tmp_path):
    with Sandbox(catalog=hostile_catalog(tmp_path / "catalog.yaml")) as sb:
        yield sb, hostile_order(tmp_path / "o.yaml")


@pytest.mark.parametrize("flow", ["place-order", "cart"])
def test_place_prints_every_field_of_data_safely(hostile, flow):
    sb, order = hostile
    r = cli(["place", order, "--flow", flow, *target(sb)])
    assert r.code == 0, r.stderr
    assert_safe(r.stdout, r.stderr)
    receipt = " ".join(r.stdout.split())  # a long value may wrap
    for shown in ("Tee \\x1b[31mRED", "Shop \\x1b[31mRED", "Ada\\x1b[31mRED", "1 Main\\x1b"):
        assert shown in receipt, shown
    assert "[red]mk[/red]" in receipt  # markup in data is text
    assert "SKU\\x1b]0;pwned\\x07\\u202e" in receipt
    if flow == "cart":  # the stages name the SKU
        assert "item added 1/1 SKU\\x1b]0;pwned\\x07\\u202e" in r.stderr


def test_json_keeps_the_data_exact(hostile):
    sb, order = hostile
    r = cli(["place", order, "--json", *target(sb)])
    assert r.code == 0, r.stderr
    assert_safe(r.stdout)  # JSON escapes it...
    doc = json.loads(r.stdout)  # ...and keeps it exact
    assert doc["order"]["line_items"][0]["description"] == f"Tee {HOSTILE}"
    assert doc["order"]["shipping_info"]["first_name"] == f"Ada{HOSTILE}"


def test_history_batch_and_ledger_views_print_data_safely(hostile, tmp_path):
    sb, order = hostile
    ledger = tmp_path / "ledger.jsonl"
    r = cli(["batch", order, "--repeat", "2", "--ledger", ledger, *target(sb)])
    assert r.code == 0, r.stderr
    assert_safe(r.stdout, r.stderr)
    r = cli(["orders", "list"])
    assert r.code == 0 and "000000001" in r.stdout, r.stderr
    assert_safe(r.stdout, r.stderr)
    r = cli(["orders", "show", "000000001"])
    assert r.code == 0 and "Tee \\x1b[31mRED" in " ".join(r.stdout.split()), r.stderr
    assert_safe(r.stdout, r.stderr)
    r = cli(["ledger", "list", "--ledger", ledger])
    assert_safe(r.stdout, r.stderr)


def test_a_batch_whose_orders_fail_prints_the_servers_words_safely(tmp_path):
    with Sandbox(catalog=hostile_catalog(tmp_path / "c.yaml", stock=0)) as sb:
        order = hostile_order(tmp_path / "o.yaml")
        r = cli(["batch", order, "--ledger", tmp_path / "l.jsonl", *target(sb)])
        assert r.code == 4, r.stderr
        assert_safe(r.stdout, r.stderr)
        r = cli(["place", order, *target(sb)])  # "Only 0 left of SKU...": the SKU is data
        assert r.code == 4 and "SKU\\x1b]0;pwned\\x07\\u202e" in r.stderr, r.stderr
        assert_safe(r.stdout, r.stderr)


def test_cart_show_prints_the_cart_safely(hostile):
    sb, _ = hostile
    args = ["--merchant", DOMAIN, *target(sb)]
    r = cli(["cart", "add", SKU, *args])
    assert r.code == 0, r.stderr
    assert_safe(r.stdout, r.stderr)
    assert "Tee \\x1b[31mRED" in " ".join(r.stdout.split())
    assert "[red]mk[/red]" in r.stdout


def test_doctor_prints_the_merchants_name_safely(hostile):
    sb, _ = hostile
    r = cli(["doctor", "--merchant", DOMAIN, *target(sb)])
    assert r.code == 0, r.stdout + r.stderr
    assert_safe(r.stdout, r.stderr)
    assert "Shop \\x1b[31mRED" in r.stdout


def test_a_server_error_description_is_shown_safely(http_server):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.dumps(
                {
                    "code": 400,
                    "error": "ErrorStoreUnavailable" + HOSTILE,
                    "description": f"down {HOSTILE}",
                }
            ).encode()
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    url = http_server(Handler)
    r = cli(
        [
            "place",
            SAMPLES / "one-item.yaml",
            "--api-url",
            url,
            "--payment-url",
            url,
            "--app-id",
            "t",
        ]
    )
    assert r.code != 0
    assert_safe(r.stdout, r.stderr)
    assert "\\x1b]0;pwned" in r.stderr, r.stderr


def test_data_from_the_environment_and_file_names_is_shown_safely(tmp_path):
    r = cli(["place", SAMPLES / "one-item.yaml"], env={"CART_CLI_PROFILE": f"p{HOSTILE}"})
    assert r.code == 2
    assert_safe(r.stdout, r.stderr)
    f = tmp_path / "o\x1b]0;pwned\x07.yaml"
    f.write_text((SAMPLES / "one-item.yaml").read_text())
    r = cli(["validate", f])
    assert r.code == 0 and "o\\x1b]0;pwned\\x07.yaml: ok" in r.stdout, r.stderr
    assert_safe(r.stdout, r.stderr)


def test_the_live_display_and_receipt_on_a_terminal_are_safe(hostile):
    sb, order = hostile
    pid, fd = spawn_on_a_pty(
        ["place", order, *target(sb)], env={"TERM": "xterm-256color", "COLUMNS": "120"}
    )
    code, out = pty_exit_code(pid, fd)
    text = out.decode("utf-8", "replace")
    assert code == 0, text
    assert_safe(text)
    assert "Tee \\x1b[31mRED" in text


def test_the_live_batch_display_on_a_terminal_is_safe(hostile, tmp_path):
    sb, order = hostile
    named = tmp_path / "o\x1b]0;pwned\x07.yaml"  # a job's name is its file's
    named.write_bytes(order.read_bytes())
    pid, fd = spawn_on_a_pty(
        ["batch", named, "--repeat", "2", "--ledger", tmp_path / "l.jsonl", *target(sb)],
        env={"TERM": "xterm-256color", "COLUMNS": "120"},
    )
    code, out = pty_exit_code(pid, fd)
    text = out.decode("utf-8", "replace")
    assert code == 0, text
    assert_safe(text)
    assert "o\\x1b]0;pwned\\x07.yaml" in text


@settings(max_examples=50, deadline=None)
@given(ANY_TEXT, ANY_TEXT, ANY_TEXT)
def test_a_receipt_of_any_text_prints_nothing_that_acts_on_a_terminal(name, title, sku):
    import io

    from cart_cli.cli.ui.console import make_console
    from cart_cli.cli.ui.receipt import receipt

    order = {
        "platform_order_number": sku,
        "display_name": title,
        "line_items": [{"description": title, "sku": sku, "quantity": 1, "price": {"value": 1}}],
        "shipping_info": {"first_name": name, "city": title},
        "payment_summary": {"card_type": name, "last_four": sku, "card_holder_name": name},
        "total": {"currency": sku, "value": 1},
    }
    out = io.StringIO()
    make_console(out, False, {}, piped_width=True).print(receipt(order, "shop.test"))
    assert not any(acts_on_a_terminal(ch) for ch in out.getvalue().replace("\n", ""))


def test_products_show_prints_the_product_safely(hostile):
    sb, _ = hostile
    r = cli(["products", "show", SKU, "--merchant", DOMAIN, *target(sb)])
    assert r.code == 0, r.stderr
    assert_safe(r.stdout, r.stderr)
    assert "Tee \\x1b[31mRED" in " ".join(r.stdout.split())
    assert "[red]mk[/red]" in r.stdout  # markup in data is text


def test_the_debug_log_quotes_servers_safely():
    """--debug lines quote what servers sent (error names, URLs)."""
    import logging

    from cart_cli.cli.options import setup_logging
    from tests.helpers import make_env

    env = make_env()
    setup_logging(env, True)
    try:
        logging.getLogger("cart_cli.core.client").debug("token refused (%s); renewing", HOSTILE)
    finally:
        setup_logging(env, False)
    logged = env.stderr.getvalue()
    assert_safe(logged)
    assert SHOWN in logged
