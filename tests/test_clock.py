"""One clock for the sandbox too: card expiry, token expiry and order times in the sandbox come
from the clock it is given, the run's, so CART_CLI_NOW moves `cart-cli sandbox` and `--sandbox`
as it moves the client (before, the sandbox read the wall clock: `make test-2031` could not see
tests whose cards expire before 2031)."""

from __future__ import annotations

import os
import signal
import subprocess
from datetime import date, datetime, timezone

import pytest
import yaml

from cart_cli.sandbox.payments import Payment
from cart_cli.wire.clock import clock_from, epoch_clock
from tests.helpers import CLI, SAMPLES, TODAY, cli, http, write_order

LATER = date(TODAY.year + 5, TODAY.month, min(TODAY.day, 28))  # the sandbox's day, years ahead


def card_file(path, year: int):
    path.write_text(
        yaml.safe_dump({"number": "4242424242424242", "name": "A B", "month": 12, "year": year})
        + 'cvv: "8317"\n'
    )
    return path


def test_cart_cli_sandbox_judges_cards_and_stamps_orders_by_the_runs_clock(tmp_path):
    proc = subprocess.Popen(
        [CLI, "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CART_CLI_NOW": LATER.isoformat()},
    )
    try:
        url = proc.stderr.readline().split()[3]
        target = ["--api-url", url, "--payment-url", url, "--app-id", "tests"]
        order = write_order(tmp_path / "o.yaml")
        today = {"CART_CLI_NOW": TODAY.isoformat()}  # the client lives years before the sandbox
        # Good by the client's clock, expired by the sandbox's: the sandbox declines it.
        card = card_file(tmp_path / "old.yaml", TODAY.year + 2)
        r = cli(["place", order, "--card", card, "--json", *target], env=today)
        assert r.code == 3 and r.json()["error"]["code"] == "ErrorPaymentDeclined", r.stdout
        assert "expired card" in r.json()["error"]["message"]
        card = card_file(tmp_path / "good.yaml", LATER.year + 1)
        r = cli(["place", order, "--card", card, "--json", *target], env=today)
        assert r.code == 0, r.stdout + r.stderr
        (placed,) = http.get(f"{url}/__sandbox/orders").json()["orders"]
        assert placed["submitted_at"].startswith(LATER.isoformat())
        session = http.post(f"{url}/api/v1/browser-session", headers={"x-firmly-app-id": "t"})
        later = datetime(LATER.year, LATER.month, LATER.day, tzinfo=timezone.utc).timestamp()
        assert later < session.json()["expires"] < later + 2 * 86400  # its token's time too
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)


def test_place_sandbox_lives_on_the_runs_clock():
    r = cli(
        ["place", SAMPLES / "one-item.yaml", "--sandbox", "--json"],
        env={"CART_CLI_NOW": f"{LATER.isoformat()}T12:00:00"},
    )
    assert r.code == 0, r.stderr
    assert r.json()["order"]["submitted_at"].startswith(f"{LATER.isoformat()}T12:00:")


@pytest.mark.parametrize(("year", "month", "declined"), [(2031, 8, True), (2031, 9, False)])
def test_the_sandbox_judges_expiry_by_the_time_it_is_given(year, month, declined):
    card = {"number": "4242424242424242", "month": f"{month:02d}", "year": str(year)}
    now = datetime(2031, 9, 1, tzinfo=timezone.utc)
    payment = Payment.from_card(card, now)
    assert (payment.decline == "expired card") is declined


def test_the_run_clock_is_read_from_the_environment():
    clock = epoch_clock(clock_from({"CART_CLI_NOW": "2031-09-01T12:00:00"}))
    assert abs(clock() - datetime(2031, 9, 1, 12, tzinfo=timezone.utc).timestamp()) < 60
    wall = datetime.now(timezone.utc).timestamp()
    assert abs(epoch_clock(clock_from({}))() - wall) < 60
