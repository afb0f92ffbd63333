"""main()'s one error boundary: every way a run ends gives one message, a documented exit code,
and under --json exactly one JSON document (on stdout, whatever happened)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess

import pytest
import yaml

from tests.helpers import (
    CLI,
    SAMPLES,
    cli,
    cli_subprocess,
    order_doc,
    pty_exit_code,
    read_until,
    sandbox_orders,
    spawn_on_a_pty,
    target,
    write_order,
)


@pytest.fixture
def order_file(tmp_path):
    return write_order(tmp_path / "o.yaml")


def one_json(text: str) -> dict:
    doc = json.loads(text)  # exactly one document: json.loads refuses anything after it
    assert isinstance(doc, dict)
    return doc


def test_internal_error_under_json_is_one_document_exit_1(cart_sandbox, order_file, monkeypatch):
    import cart_cli.core.checkout as checkout

    monkeypatch.setattr(checkout, "encrypt_card", lambda *a, **k: 1 / 0)
    r = cli(["place", order_file, *target(cart_sandbox), "--json"])
    assert r.code == 1 and "internal error" in r.stderr
    doc = one_json(r.stdout)
    assert doc["ok"] is False and doc["error"]["exit_code"] == 1
    assert doc["error"]["outcome"] == "not_placed"  # it broke before the order was sent


def test_interrupt_under_json_is_one_document_exit_130(cart_sandbox, order_file, monkeypatch):
    import cart_cli.core.checkout as checkout

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(checkout, "encrypt_card", interrupt)
    r = cli(["place", order_file, *target(cart_sandbox), "--json"])
    assert r.code == 130 and "interrupted." in r.stderr
    doc = one_json(r.stdout)
    assert doc["error"]["exit_code"] == 130 and doc["error"]["code"] == "Interrupted"


def test_a_parser_error_under_json_is_one_document_exit_2():
    r = cli(["place", "--json", "--no-such-flag"])
    assert r.code == 2 and "No such option: --no-such-flag" in r.stderr
    assert one_json(r.stdout)["error"]["exit_code"] == 2
    r = cli(["batch", "--json", "--concurrency", "x", "a.yaml"])
    assert r.code == 2 and one_json(r.stdout)["ok"] is False


def test_usage_error_without_json_prints_nothing_on_stdout():
    r = cli(["place", "--no-such-flag"])
    assert r.code == 2 and r.stdout == "" and "Try 'cart-cli place -h' for help." in r.stderr


def test_help_shows_no_type_after_a_flag_and_no_doubled_brackets():
    r = cli_subprocess(["place", "--help"], env={"COLUMNS": "120"})
    assert r.code == 0
    assert "<bool>" not in r.stdout and "[[" not in r.stdout
    assert "cart-cli place [OPTIONS] [ORDER.yaml]" in r.stdout
    assert "--help  -h" in r.stdout


def test_sigterm_after_sending_is_130_with_one_json_document():
    proc = subprocess.Popen(
        [CLI, "place", SAMPLES / "one-item.yaml", "--sandbox", "--sandbox-latency", "5", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr.readline().startswith(b"target: ")
    line = proc.stderr.readline()  # waits until the order is on its way
    assert line.startswith(b"sending order"), line
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert b"interrupted after the order was sent" in err and b"Traceback" not in err
    doc = one_json(out.decode())
    assert doc["error"]["outcome"] == "unknown" and doc["error"]["exit_code"] == 130


# ---- a terminal: Ctrl-C and Ctrl-D at the card prompt ---


@pytest.mark.parametrize(("key", "where"), [(b"\x03", "Card number"), (b"\x04", "Name on card")])
def test_ctrl_c_or_ctrl_d_at_the_card_prompt_is_130_not_a_bug(tmp_path, key, where):
    doc = order_doc()
    del doc["card"]
    f = tmp_path / "o.yaml"
    f.write_text(yaml.safe_dump(doc))
    pid, fd = spawn_on_a_pty(["place", f, "--sandbox", "--quiet"])
    seen = read_until(fd, b"Card number")
    if where == "Name on card":
        os.write(fd, b"4242424242424242\n")
        seen = read_until(fd, b"Name on card", seen)
    os.write(fd, key)
    code, rest = pty_exit_code(pid, fd)
    text = (seen + rest).decode("utf-8", "replace")
    assert code == 130, text
    assert "interrupted." in text and "internal error" not in text and "Traceback" not in text


# ---- closed or broken stderr ---


def test_a_closed_stderr_does_not_turn_a_placed_order_into_a_failure(tmp_path):
    p = subprocess.run(
        ["sh", "-c", 'exec "$0" "$@" 2>&-', CLI, "place", SAMPLES / "one-item.yaml", "--sandbox"],
        capture_output=True,
        timeout=60,
    )
    assert p.returncode == 0
    assert b"Order 000000001" in p.stdout


def test_a_stderr_reader_that_went_away_does_not_change_thepty_exit_code(tmp_path):
    proc = subprocess.Popen(
        [CLI, "place", SAMPLES / "one-item.yaml", "--sandbox", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stderr.close()  # the progress reader is gone before anything is written
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert one_json(out.decode())["ok"] is True


def test_a_bug_after_the_order_was_sent_says_it_may_have_been_placed(
    cart_sandbox, order_file, monkeypatch
):
    """exit 1 "internal error" alone after the order left invites a retry, and a second order:
    the message says it may have been placed, with the order call's request id."""
    import cart_cli.cli.ui.receipt as receipt

    monkeypatch.setattr(receipt, "receipt", lambda *a, **k: 1 / 0)
    r = cli(["place", order_file, *target(cart_sandbox)])
    assert r.code == 1 and "internal error" in r.stderr
    assert "may or may not have been placed" in r.stderr
    assert len(sandbox_orders(cart_sandbox)) == 1
    rid = re.search(r"request id ([0-9a-f]{32})", r.stderr)
    assert rid, r.stderr


def test_an_interrupt_after_the_order_was_sent_gives_its_request_id(
    cart_sandbox, order_file, monkeypatch
):
    import cart_cli.core.client as client

    def interrupt(self, resp, rid, what):
        raise KeyboardInterrupt

    monkeypatch.setattr(
        client.Client, "_follow_stream", lambda self, resp, rid, *a: interrupt(self, resp, rid, "")
    )
    r = cli(["place", order_file, *target(cart_sandbox), "--json"])
    assert r.code == 130
    doc = one_json(r.stdout)
    assert doc["error"]["outcome"] == "unknown"
    assert doc["error"]["request_id"] and doc["error"]["request_id"] in r.stderr


def test_a_run_clock_that_is_not_a_date_is_exit_2_without_a_traceback():
    r = cli_subprocess(["profile", "list"], env={"CART_CLI_NOW": "garbage"})
    assert r.code == 2 and "Traceback" not in r.stderr, r.stderr
    assert "CART_CLI_NOW='garbage' is not a date like 2031-09-01" in r.stderr
