"""The installed `cart-cli` console script, run as a user or a CI job would."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import (
    ANSI,
    CLI,
    GOOD_YEAR,
    SAMPLES,
    assert_no_secrets,
    cli_subprocess,
    wait_reading_stdin,
)

pytestmark = pytest.mark.slow
HEAVY = (
    "requests",
    "jose",
    "cryptography",
    "pydantic",
    "starlette",
    "uvicorn",
    "yaml",
    "sseclient",
    "urllib3",
)


def test_help_imports_no_heavy_library():
    code = (
        "import sys; sys.argv = ['cart-cli', '--help']\n"
        "from cart_cli.cli import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.stdout.strip().splitlines()[-1] == "[]"
    assert "place" in p.stdout and "batch" in p.stdout and "sandbox" in p.stdout
    assert "Exit codes: 0 order placed" in p.stdout and "130 interrupted" in p.stdout


def test_place_with_embedded_sandbox_and_a_receipt():
    r = cli_subprocess(["place", SAMPLES / "one-item.yaml", "--sandbox"])
    assert r.code == 0, r.stderr
    assert "Order 000000001" in r.stdout and "$53.51" in r.stdout
    assert "order placed: 000000001" in r.stderr
    assert not ANSI.search(r.stdout + r.stderr)


def test_json_output_is_exactly_one_document_on_stdout():
    r = cli_subprocess(["place", SAMPLES / "declined-card.yaml", "--sandbox", "--json"])
    assert r.code == 3
    doc = json.loads(r.stdout)
    assert doc["ok"] is False and doc["error"]["code"] == "ErrorPaymentDeclined"
    assert "error: ErrorPaymentDeclined" in r.stderr


def test_out_of_stock_sample_is_exit_4():
    r = cli_subprocess(["place", SAMPLES / "out-of-stock.yaml", "--sandbox", "-q"])
    assert r.code == 4 and r.stdout == "" and "ErrorNotEnoughStock" in r.stderr


def test_validate_names_file_field_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("merchant: staging.luma.gift\nitems:\n  - variant_id: X\n    quantity: 0\n")
    r = cli_subprocess(["validate", SAMPLES / "one-item.yaml", bad])
    assert r.code == 2
    assert f"{bad}:4: items[0].quantity: input should be greater than or equal to 1" in r.stderr
    assert f"{bad}:1: shipping_info: is required" in r.stderr
    r = cli_subprocess(["validate", SAMPLES / "one-item.yaml", SAMPLES / "three-items.yaml"])
    assert r.code == 0 and "one-item.yaml: ok (1 order)" in r.stdout


def test_ctrl_c_after_submission_is_130_and_says_the_outcome_is_unknown():
    proc = subprocess.Popen(
        [CLI, "place", str(SAMPLES / "one-item.yaml"), "--sandbox", "--sandbox-latency", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr.readline().startswith("target: staging · embedded sandbox")
    line = proc.stderr.readline()  # printed once the order may leave: no wait needed
    assert line.startswith("sending order"), line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert "interrupted after the order was sent" in err and "may or may not" in err
    assert "Traceback" not in err and out == ""
    from cart_cli.core.history import History

    (rec,) = History(os.environ["CART_CLI_DATA_DIR"]).read()  # the history says so too
    assert rec["outcome"] == "unknown" and rec["error"]["code"] == "OutcomeUnknown"


def test_ctrl_c_before_sending_is_130(tmp_path):
    proc = subprocess.Popen(
        [CLI, "place", str(SAMPLES / "one-item.yaml"), "--card", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_reading_stdin(proc.pid)  # waiting on stdin for the card
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130 and "interrupted." in err and "Traceback" not in err


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_sandbox_command_serves_logs_and_stops_on_ctrl_c_or_sigterm(stop):
    proc = subprocess.Popen(
        [CLI, "sandbox", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        first = proc.stderr.readline()
        assert first.startswith("sandbox listening on http://127.0.0.1:"), first
        url = first.split()[3]
        env = {"CART_CLI_API_URL": url, "CART_CLI_PAYMENT_URL": url, "CART_CLI_APP_ID": "ci"}
        r = cli_subprocess(["place", SAMPLES / "one-item.yaml", "--json"], env=env)
        assert r.code == 0, r.stderr
        assert json.loads(r.stdout)["order"]["platform_order_number"] == "000000001"
    finally:
        proc.send_signal(stop)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "POST /api/v1/payment/domains/staging.luma.gift/place-order 200" in err
    assert "sandbox stopped" in err
    assert_no_secrets(err)


def test_sandbox_command_app_id_allow_list():
    proc = subprocess.Popen(
        [CLI, "sandbox", "--port", "0", "--app-id", "ci"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stderr.readline().split()[3]
        base = ["place", SAMPLES / "one-item.yaml", "--api-url", url, "--payment-url", url, "-q"]
        assert cli_subprocess([*base, "--app-id", "ci"]).code == 0
        r = cli_subprocess([*base, "--app-id", "someone-else"])
        assert r.code == 6 and "InvalidAppId" in r.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)


def test_sandbox_command_refuses_bad_options(tmp_path):
    r = cli_subprocess(["sandbox", "--fault", "explode"])
    assert r.code == 2 and "unknown sandbox fault" in r.stderr
    (tmp_path / "c.yaml").write_text("merchants: 1\n")
    r = cli_subprocess(["sandbox", "--catalog", tmp_path / "c.yaml"])
    assert r.code == 2 and "c.yaml" in r.stderr


def test_no_color_and_plain_lines_when_piped_even_if_forced_colour_is_absent():
    env = {"NO_COLOR": "1", "TERM": "xterm-256color"}
    r = cli_subprocess(["place", SAMPLES / "one-item.yaml", "--sandbox"], env=env)
    assert r.code == 0 and not ANSI.search(r.stdout + r.stderr)


def test_python_dash_m_works():
    p = subprocess.run(
        [sys.executable, "-m", "cart_cli", "--version"],
        capture_output=True,
        text=True,
        env={**os.environ},
    )
    assert p.returncode == 0 and p.stdout.startswith("cart-cli ")


def test_card_is_asked_for_on_a_terminal_without_echo(tmp_path):
    import pty

    import yaml

    from tests.helpers import order_doc

    doc = order_doc()
    del doc["card"]
    f = tmp_path / "o.yaml"
    f.write_text(yaml.safe_dump(doc))
    pid, fd = pty.fork()
    if pid == 0:  # the child: cart-cli with a terminal on stdin, stdout and stderr
        os.execv(CLI, [CLI, "place", str(f), "--sandbox", "--quiet"])
    seen = b""

    def read_until(marker: bytes, times: int = 1) -> None:
        """Until ``marker`` has been shown ``times`` times (a prompt asked again); answering
        before the prompt is up would be thrown away by getpass, as a terminal does."""
        nonlocal seen
        deadline = time.monotonic() + 20
        while seen.count(marker) < times and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(fd, 4096)
                except OSError:
                    break
        assert seen.count(marker) >= times, seen

    for prompt, times, answer in [
        (b"Card number:", 1, b"4242424242424243"),  # a slip: asked again at once
        (b"Card number:", 2, b"4242424242424242"),
        (b"Name on card:", 1, b"Ada L"),
        (b"Expiry (MM/YYYY):", 1, f"13/{GOOD_YEAR}".encode()),
        (b"Expiry (MM/YYYY):", 2, f"11/{GOOD_YEAR}".encode()),
        (b"CVV:", 1, b"83"),
        (b"CVV:", 2, b"8317"),
    ]:
        read_until(prompt, times)
        os.write(fd, answer + b"\n")
    read_until(b"Thank-you page")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    text = seen.decode("utf-8", "replace")
    assert "Visa ending 4242" in text
    assert "4242424242424242" not in text and "8317" not in text  # hidden input
    assert "4242424242424243" not in text  # nor the mistyped one
    for said in ("fails the Luhn check", "month must be 1-12", "CVV must be 3 or 4 digits"):
        assert said in text
    assert "Ada L" in text  # the name is echoed as typed


def test_no_standard_input_at_all_is_handled(tmp_path):
    """CI jobs may run with stdin closed: no prompt, and `--card -` says there is no input."""

    def closed_stdin(*args):
        p = subprocess.run(
            ["sh", "-c", 'exec "$0" "$@" 0<&-', CLI, *map(str, args)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        return p.returncode, p.stderr

    code, err = closed_stdin("place", SAMPLES / "one-item.yaml", "--sandbox", "-q")
    assert code == 0, err
    code, err = closed_stdin("place", SAMPLES / "one-item.yaml", "--sandbox", "--card", "-")
    assert code == 2 and "standard input, and there is none" in err


def test_a_closed_stdout_pipe_does_not_change_the_exit_code(tmp_path):
    """`cart-cli ... | head -1`: the orders were placed, so the exit code must say so."""
    f = tmp_path / "o.yaml"
    f.write_text((SAMPLES / "one-item.yaml").read_text())
    for args in (
        ["batch", f, "--repeat", "40", "--json", "--ledger", tmp_path / "l.jsonl"],
        ["batch", f, "--repeat", "40", "--ledger", tmp_path / "l2.jsonl"],
    ):
        proc = subprocess.Popen(
            [CLI, *map(str, args), "--sandbox", "-q"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        proc.stdout.close()  # the reader is gone before anything is written
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert b"Traceback" not in err and b"BrokenPipe" not in err and b"internal" not in err
