"""The local order history: written by place and batch (0600, no card data, with the target),
read by `orders list` (filters) and `orders show` (the receipt again)."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from cart_cli.core.errors import UsageError
from cart_cli.core.history import History, parse_since
from tests.helpers import SECRET_CARD, assert_no_secrets, cli, target, write_order


def data_dir() -> Path:
    return Path(os.environ["CART_CLI_DATA_DIR"])


@pytest.fixture
def placed_and_declined(cart_sandbox, tmp_path):
    card = tmp_path / "card.yaml"
    card.write_text(yaml.safe_dump(SECRET_CARD))
    ok = write_order(tmp_path / "ok.yaml")
    r = cli(["place", ok, *target(cart_sandbox), "--card", card, "-q"])
    assert r.code == 0, r.stderr
    bad = write_order(tmp_path / "bad.yaml", card="test:declined")
    r = cli(["place", bad, *target(cart_sandbox), "-q"])
    assert r.code == 3
    return cart_sandbox


def test_every_finished_order_is_recorded_0600_without_card_data(placed_and_declined):
    path = data_dir() / "history.jsonl"
    assert path.stat().st_mode & 0o777 == 0o600
    assert data_dir().stat().st_mode & 0o777 == 0o700
    assert_no_secrets(paths=[data_dir()])
    recs = [json.loads(x) for x in path.read_text().splitlines()]
    assert [r["outcome"] for r in recs] == ["placed", "not_placed"]
    assert recs[0]["order"]["payment_summary"] == {
        k: v
        for k, v in recs[0]["order"]["payment_summary"].items()
        if k in ("payment_type", "card_type", "last_four")
    }
    assert recs[0]["order"]["payment_summary"]["last_four"] == "4242"
    assert "month" not in recs[0]["order"]["payment_summary"]
    assert recs[1]["error"]["code"] == "ErrorPaymentDeclined"
    assert recs[0]["target"]["api_url"] == placed_and_declined.url


def test_orders_list_and_filters(placed_and_declined):
    r = cli(["orders", "list"])
    assert r.code == 0
    assert "000000001" in r.stdout and "ErrorPaymentDeclined" in r.stdout
    assert "$29.26" in r.stdout
    doc = cli(["orders", "list", "--json"]).json()
    assert len(doc["orders"]) == 2
    assert cli(["orders", "list", "--merchant", "other.example", "--json"]).json()["orders"] == []
    # an old record, written as an earlier run would have
    old = dict(doc["orders"][0], at="2020-01-01T00:00:00Z", order_number="000000099")
    History(data_dir()).append(old)
    numbers = [
        r["order_number"]
        for r in cli(["orders", "list", "--since", "1d", "--json"]).json()["orders"]
    ]
    assert numbers == ["000000001", None]
    numbers = [r["order_number"] for r in cli(["orders", "list", "--json"]).json()["orders"]]
    assert "000000099" in numbers
    r = cli(["orders", "list", "--since", "2019-12-31", "--json"])
    assert len(r.json()["orders"]) == 3
    r = cli(["orders", "list", "--since", "last week"])
    assert r.code == 2 and "--since 'last week'" in r.stderr


def test_orders_show_prints_the_receipt_again(placed_and_declined):
    r = cli(["orders", "show", "000000001"])
    assert r.code == 0, r.stderr
    for text in ("Order 000000001", "Radiant Tee - Orange XS", "$29.26", "Visa ending 4242"):
        assert text in r.stdout
    host = placed_and_declined.url.removeprefix("http://")
    assert f"staging · {host} · app id tests" in r.stdout
    assert cli(["orders", "show", "000000001", "--json"]).json()["order_number"] == "000000001"
    r = cli(["orders", "show", "123"])
    assert r.code == 2 and "no order 123 in the history" in r.stderr


def test_batch_orders_are_recorded_with_their_source(cart_sandbox, tmp_path):
    f = write_order(tmp_path / "o.yaml")
    r = cli(["batch", f, *target(cart_sandbox), "--repeat", "3", "-q", "--ledger", tmp_path / "l"])
    assert r.code == 0, r.stderr
    recs = History(data_dir()).read()
    assert sorted(r["order_number"] for r in recs) == ["000000001", "000000002", "000000003"]
    assert {r["source"] for r in recs} == {f"{f}#0", f"{f}#0@1", f"{f}#0@2"}


def test_batch_no_history_leaves_the_history_alone(cart_sandbox, tmp_path):
    f = write_order(tmp_path / "o.yaml")
    args = ["batch", f, *target(cart_sandbox), "-q", "--ledger", tmp_path / "l"]
    assert cli([*args, "--no-history"]).code == 0
    assert History(data_dir()).read() == [] and not data_dir().exists()
    assert cli(args).code == 0
    assert len(History(data_dir()).read()) == 1


def record(n: int, at: str = "2026-11-28T10:00:00Z", merchant: str = "a.example") -> dict:
    return {
        "schema": "cart-cli.history/1",
        "at": at,
        "merchant": merchant,
        "outcome": "placed",
        "order_number": f"{n:09d}",
        "order": {"pad": "x" * 300},
    }


def test_the_history_is_rotated_by_size_and_both_files_are_read(tmp_path):
    h = History(tmp_path, max_bytes=4000)
    for n in range(1, 41):
        h.append(record(n))
    sizes = [p.stat().st_size for p in h.files()]
    assert all(size <= 4000 + 400 for size in sizes), sizes  # never much past the bound
    assert h.rotated.stat().st_mode & 0o777 == 0o600
    numbers = [int(r["order_number"]) for r in h.read()]
    assert numbers == list(range(numbers[0], 41))  # oldest first, the newest kept, no gap
    assert 10 <= len(numbers) < 40  # the oldest are gone
    assert h.find("000000040") and not h.find("000000001")


def test_orders_list_limit_shows_the_last_n_that_match_and_says_so():
    h = History(data_dir())
    for n in range(1, 8):
        h.append(record(n, merchant="b.example" if n % 2 else "a.example"))
    doc = cli(["orders", "list", "--limit", "2", "--json"]).json()
    assert [r["order_number"] for r in doc["orders"]] == ["000000006", "000000007"]
    assert doc["matching"] == 7
    doc = cli(["orders", "list", "--limit", "2", "--merchant", "a.example", "--json"]).json()
    assert [r["order_number"] for r in doc["orders"]] == ["000000004", "000000006"]
    assert doc["matching"] == 3
    assert len(cli(["orders", "list", "--limit", "0", "--json"]).json()["orders"]) == 7
    r = cli(["orders", "list", "--limit", "3"])
    assert r.code == 0 and "the last 3 of 7 orders that match; --limit 0 shows all" in r.stderr
    assert "000000005" in r.stdout and "000000004" not in r.stdout
    r = cli(["orders", "list", "--limit", "-1"])
    assert r.code == 2
    for n in range(8, 106):
        h.append(record(n))
    doc = cli(["orders", "list", "--json"]).json()  # the default: the last 100
    assert len(doc["orders"]) == 100 and doc["orders"][-1]["order_number"] == "000000105"


def test_an_unwritable_history_is_a_warning_not_a_failure(cart_sandbox, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("CART_CLI_DATA_DIR", str(blocker / "sub"))
    r = cli(["place", write_order(tmp_path / "o.yaml"), *target(cart_sandbox), "-q"])
    assert r.code == 0
    assert "warning: cannot write the order history" in r.stderr


def test_torn_lines_are_skipped(tmp_path):
    h = History(tmp_path)
    h.append({"schema": "cart-cli.history/1", "order_number": "1", "merchant": "a.example"})
    with open(h.path, "a") as fh:
        fh.write('{"schema": "cart-cli.hist')
    assert [r["order_number"] for r in h.read()] == ["1"]
    assert h.merchants() == ["a.example"]


NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


@given(st.integers(0, 999_999), st.sampled_from("mhdw"))
def test_since_ages(n, unit):
    name = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[unit]
    try:
        expected = NOW - timedelta(**{name: n})
    except OverflowError:  # before year 1
        with pytest.raises(UsageError, match="too far back"):
            parse_since(f"{n}{unit}", NOW)
    else:
        assert parse_since(f"{n}{unit}", NOW) == expected


@given(st.text(max_size=20))
def test_since_refuses_text_clearly(text):
    try:
        when = parse_since(text, NOW)
    except UsageError as e:
        assert "--since" in e.message
    else:
        assert when.tzinfo is not None


def test_orders_list_fits_a_narrow_terminal(placed_and_declined):
    r = cli(["orders", "list"], env={"COLUMNS": "60"})
    lines = r.stdout.splitlines()
    assert max(len(x) for x in lines) <= 60
    assert any("000000001" in x and "$29.26" in x for x in lines)  # number and total stay whole
    assert "Target" not in r.stdout
    r = cli(["orders", "list"], env={"COLUMNS": "120"})
    assert "Target" in r.stdout


def test_the_history_stays_open_between_lines_and_follows_a_rotation(tmp_path, monkeypatch):
    import cart_cli.core.history as history_module

    opened = []
    real_open = history_module.open_append
    monkeypatch.setattr(
        history_module, "open_append", lambda p, *a, **k: opened.append(p) or real_open(p, *a, **k)
    )
    h = History(tmp_path)
    for i in range(5):
        h.append({"n": i})
    assert len(opened) == 1  # one open for a batch's lines, not one each
    os.replace(h.path, h.rotated)  # another cart-cli rotated it meanwhile
    h.append({"n": 5})
    assert len(opened) == 2
    assert [json.loads(x)["n"] for x in h.path.read_text().splitlines()] == [5]
    assert len(h.rotated.read_text().splitlines()) == 5
    assert (h.path.stat().st_mode & 0o777) == 0o600
    h.close()
