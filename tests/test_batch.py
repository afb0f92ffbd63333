"""cart-cli batch end to end over real HTTP: concurrency, reports, ledger, resume, shards."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from collections import Counter

import pytest
import yaml

from cart_cli.sandbox import Sandbox
from tests.helpers import (
    ADDRESS,
    ANSI_SEQUENCE,
    CLI,
    SECRET_CARD,
    assert_no_secrets,
    cached_tokens,
    cli,
    pty_exit_code,
    read_until,
    sandbox_orders,
    spawn_on_a_pty,
    target,
    write_order,
)

SKUS = ["WS12-XS-Orange", "MH07-XS-Gray", "WJ06-S-Blue", "24-MB01", "24-WG085"]


def multi(path, entries, **defaults):
    doc = {
        "defaults": {
            "merchant": "staging.luma.gift",
            "shipping_info": ADDRESS,
            "card": "test:visa",
            **defaults,
        },
        "orders": entries,
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def distinct_orders(path, n):
    """n orders, each told apart in the sandbox by its (sku, quantity)."""
    entries = [{"items": [{"variant_id": SKUS[i % 5], "quantity": i // 5 + 1}]} for i in range(n)]
    return multi(path, entries)


def placed_keys(sandbox) -> Counter:
    return Counter(
        (o["items"][0]["sku"], o["items"][0]["quantity"]) for o in sandbox_orders(sandbox)
    )


def batch(sandbox, *args, **kw):
    return cli(["batch", *args, *target(sandbox)], **kw)


def test_fifty_orders_at_concurrency_eight_are_all_placed(cart_sandbox, tmp_path):
    f = multi(tmp_path / "five.yaml", [{"items": [{"variant_id": s, "quantity": 1}]} for s in SKUS])
    r = batch(cart_sandbox, f, "--repeat", "10", "--concurrency", "8", "--json")
    assert r.code == 0, r.stderr
    doc = r.json()
    assert doc["schema"] == "cart-cli.batch-result/2" and doc["ok"] is True
    assert doc["total"] == 50 and doc["placed"] == 50 and doc["failed"] == 0
    orders = sandbox_orders(cart_sandbox)
    assert len(orders) == 50
    assert len({o["order_number"] for o in orders}) == 50
    assert Counter(o["items"][0]["sku"] for o in orders) == dict.fromkeys(SKUS, 10)
    assert len(r.stderr.splitlines()) == 52  # the target, a line per order, the summary line


def test_mixed_batch_reports_each_failure_in_summary_jsonl_and_junit(cart_sandbox, tmp_path):
    f = multi(
        tmp_path / "mixed.yaml",
        [
            {"items": [{"variant_id": "WS12-XS-Orange", "quantity": 1}]},
            {"items": [{"variant_id": "24-MB01", "quantity": 1}], "card": "test:declined"},
            {"items": [{"variant_id": "NOPE", "quantity": 1}]},
            {"items": [{"variant_id": "24-MB01", "quantity": 1}], "merchant": "down.luma.gift"},
        ],
    )
    r = batch(cart_sandbox, f, "--jsonl", "r.jsonl", "--junit", "r.xml")
    assert r.code == 5  # store unavailable ranks above declined (3) and not found (4)
    table = r.stdout
    for name, result, error in [
        ("mixed.yaml#0", "placed", ""),
        ("mixed.yaml#1", "not placed", "ErrorPaymentDeclined"),
        ("mixed.yaml#2", "not placed", "ErrorProductNotFound"),
        ("mixed.yaml#3", "not placed", "ErrorStoreUnavailable"),
    ]:
        row = next(line for line in table.splitlines() if f"/{name} " in line)
        assert result in row and error in row
    assert "1 placed, 3 not placed, 0 unknown" in r.stderr

    lines = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    by_index = {d["source"]["index"]: d for d in lines}
    assert by_index[0]["ok"] is True and by_index[0]["schema"] == "cart-cli.order-result/1"
    assert by_index[1]["error"]["code"] == "ErrorPaymentDeclined"
    assert by_index[2]["error"]["code"] == "ErrorProductNotFound"
    assert by_index[3]["error"]["code"] == "ErrorStoreUnavailable"
    assert all(d["source"]["file"] == str(f) for d in lines)

    root = ET.parse(tmp_path / "r.xml").getroot()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {f"{f}#{i}" for i in range(4)}
    assert suite.get("tests") == "4" and suite.get("failures") == "2" and suite.get("errors") == "1"
    ok = cases[f"{f}#0"]
    assert ok.find("failure") is None and ok.find("error") is None
    props = dict(line.split(": ", 1) for line in ok.find("system-out").text.splitlines())
    assert props["order_number"] == "000000001" and props["cart_id"]
    assert "stage_ms.order-placed" in props
    declined = cases[f"{f}#1"].find("failure")
    assert declined.get("type") == "ErrorPaymentDeclined" and "declined" in declined.get("message")
    assert cases[f"{f}#3"].find("error").get("type") == "ErrorStoreUnavailable"
    for c in cases.values():
        assert float(c.get("time")) >= 0 and c.get("classname").count(".") == 1
    assert cases[f"{f}#3"].get("classname") == "cart-cli.down_luma_gift"
    assert [c.get("name") for c in suite.findall("testcase")] == [f"{f}#{i}" for i in range(4)]


def test_invalid_order_stops_the_batch_before_anything_is_sent(cart_sandbox, tmp_path):
    good = write_order(tmp_path / "a.yaml")
    bad1 = write_order(tmp_path / "b.yaml", items=[{"variant_id": "X", "quantity": 0}])
    bad2 = write_order(tmp_path / "c.yml", card="test:nope")
    r = batch(cart_sandbox, tmp_path)  # a directory: every *.yaml / *.yml, sorted
    assert r.code == 2
    assert f"{bad1}:4: items[0].quantity" in r.stderr and f"{bad2}:" in r.stderr
    assert "2 problems" in r.stderr and str(good) not in r.stderr
    assert sandbox_orders(cart_sandbox) == []
    assert not (tmp_path / ".cart-cli-ledger.jsonl").exists()


def test_a_file_named_twice_is_placed_once(cart_sandbox, tmp_path):
    f = distinct_orders(tmp_path / "o.yaml", 2)
    r = batch(cart_sandbox, tmp_path, f, "--json")
    assert r.code == 0 and r.json()["total"] == 2
    assert len(sandbox_orders(cart_sandbox)) == 2


def test_shards_cover_every_order_exactly_once(cart_sandbox, tmp_path):
    f = distinct_orders(tmp_path / "o.yaml", 10)
    seen = []
    for i in (1, 2, 3):
        r = batch(cart_sandbox, f, "--shard", f"{i}/3", "--json", "--ledger", f"l{i}.jsonl")
        assert r.code == 0, r.stderr
        seen += [(o["source"]["index"], o["source"]["repeat"]) for o in r.json()["orders"]]
    assert sorted(seen) == [(i, 0) for i in range(10)]
    assert set(placed_keys(cart_sandbox).values()) == {1} and len(placed_keys(cart_sandbox)) == 10
    assert batch(cart_sandbox, f, "--shard", "4/3").code == 2


def test_resume_skips_orders_already_placed(cart_sandbox, tmp_path):
    f = distinct_orders(tmp_path / "o.yaml", 4)
    assert batch(cart_sandbox, f).code == 0
    r = batch(cart_sandbox, f, "--resume", "--json")
    assert r.code == 0
    doc = r.json()
    assert doc["skipped"] == 4 and doc["placed"] == 0
    assert all(o["note"].startswith("already placed as 00000000") for o in doc["orders"])
    assert len(sandbox_orders(cart_sandbox)) == 4


def test_resume_resends_orders_that_surely_failed(cart_sandbox, tmp_path):
    f = multi(
        tmp_path / "o.yaml",
        [
            {"items": [{"variant_id": "MT07-M-Gray", "quantity": 1}]},
            {
                "items": [
                    {"variant_id": "MT07-M-Gray", "quantity": 1},
                    {"variant_id": "24-MB01", "quantity": 1},
                ]
            },
        ],
    )
    r = batch(cart_sandbox, f, "--concurrency", "1")
    assert r.code == 4  # one in stock: the second order is refused, not placed
    requests_reset_stock(cart_sandbox)
    r = batch(cart_sandbox, f, "--resume", "--json")
    doc = r.json()
    assert doc["skipped"] == 1 and doc["placed"] == 1, r.stderr


def requests_reset_stock(sandbox):
    for stock in sandbox.state.stock.values():
        stock["MT07-M-Gray"] = 1


def test_resume_refuses_to_resend_an_unknown_outcome(cart_sandbox, tmp_path):
    f = distinct_orders(tmp_path / "o.yaml", 3)
    r = batch(cart_sandbox, f, "-H", "x-sandbox-fault: commit-then-cut")
    assert r.code == 8
    assert len(sandbox_orders(cart_sandbox)) == 3
    r = batch(cart_sandbox, f, "--resume", "--json")
    assert r.code == 8
    doc = r.json()
    assert doc["unresolved"] == 3 and doc["groups"]["unknown"] == 3
    assert all(u["request_id"] for u in doc["unknown"])  # the first run's, from the ledger
    assert "may have been placed, check before retrying" in r.stderr and f"{f}#0" in r.stderr
    assert len(sandbox_orders(cart_sandbox)) == 3  # nothing sent twice


def test_fail_fast_stops_launching(cart_sandbox, tmp_path):
    entries = [{"items": [{"variant_id": "NOPE", "quantity": 1}]}]
    entries += [{"items": [{"variant_id": "24-MB01", "quantity": 1}]}] * 5
    f = multi(tmp_path / "o.yaml", entries)
    r = batch(cart_sandbox, f, "--fail-fast", "--concurrency", "1", "--json")
    assert r.code == 4
    doc = r.json()
    assert doc["not_run"] == 5 and sandbox_orders(cart_sandbox) == []
    assert [o["status"] for o in doc["orders"]] == ["failed"] + ["not_run"] * 5


def submit_gaps(ledger) -> list[float]:
    """Seconds between consecutive orders leaving, from the ledger's 'submitting' records."""
    from datetime import datetime

    at = sorted(
        datetime.fromisoformat(x["at"].replace("Z", "+00:00"))
        for x in ledger_lines(ledger)
        if x["event"] == "submitting"
    )
    return [(b - a).total_seconds() for a, b in itertools.pairwise(at)]


@pytest.mark.parametrize("rate", [4, None])
def test_rate_caps_orders_per_second(cart_sandbox, tmp_path, rate):
    f = distinct_orders(tmp_path / "o.yaml", 5)
    extra = ["--rate", str(rate)] if rate else []
    assert batch(cart_sandbox, f, *extra, "--concurrency", "5").code == 0
    # The first order also opens the session and fetches the key: its gap is left out.
    gaps = submit_gaps(tmp_path / ".cart-cli-ledger.jsonl")[1:]
    assert len(gaps) == 3
    if rate:  # every start at least ~1/rate s after the one before (ms timestamps, some slack)
        assert min(gaps) >= 0.8 / rate, gaps
    else:  # without --rate they start together: the check above can fail
        assert min(gaps) < 0.8 / 4, gaps


def test_batch_leaks_no_card_into_ledger_reports_or_output(cart_sandbox, tmp_path, cache_dir):
    f = multi(
        tmp_path / "o.yaml",
        [
            {"items": [{"variant_id": "24-MB01", "quantity": 1}]},
            {"items": [{"variant_id": "NOPE", "quantity": 1}]},
        ],
        card=SECRET_CARD,
    )
    r = batch(cart_sandbox, f, "--jsonl", "r.jsonl", "--junit", "r.xml", "--json", "--debug")
    assert r.code == 4
    assert_no_secrets(
        r.stdout,
        r.stderr,
        paths=[
            tmp_path / "r.jsonl",
            tmp_path / "r.xml",
            tmp_path / ".cart-cli-ledger.jsonl",
            cache_dir,
        ],
        tokens=cached_tokens(cache_dir),
        token_free_paths=[
            tmp_path / "r.jsonl",
            tmp_path / "r.xml",
            tmp_path / ".cart-cli-ledger.jsonl",
        ],
    )


# ---- crashes and signals: the installed command in a subprocess -------------------------------


def ledger_lines(path):
    if not path.exists():
        return []
    lines = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    return [x for x in lines if "event" in x]  # the records, after the header line


def start_batch(sandbox, f, tmp_path, *extra):
    return subprocess.Popen(
        [CLI, "batch", str(f), *target(sandbox), "--concurrency", "3", *extra],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CART_CLI_CACHE_DIR": str(tmp_path / "cache")},
    )


def wait_for_results(ledger, n, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(1 for x in ledger_lines(ledger) if x["event"] == "result") >= n:
            return
        assert proc.poll() is None, "the batch ended before it could be interrupted"
        time.sleep(0.02)
    pytest.fail("no results in the ledger")


def wait_mid_flight(ledger, proc, min_results=3, timeout=30):
    """Wait until every order in flight was sent 60-250 ms ago (an order takes ~400 ms here):
    a moment when no order is being launched or finishing. A kill between writing an order's
    ledger line and sending it leaves it unresolved, which is right but not what we test here.

    An order's age is timed from when its line is first seen here (polled every 5 ms), not from
    the line's own time: that is the run's clock, which CART_CLI_NOW moves to another year."""
    seen: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the batch ended before it could be interrupted"
        lines = ledger_lines(ledger)
        now = time.monotonic()
        for x in lines:
            if x["event"] == "submitting":
                seen.setdefault(x["job"], now)
        done = {x["job"] for x in lines if x["event"] == "result"}
        ages = [now - at for job, at in seen.items() if job not in done]
        if len(done) >= min_results and ages and all(0.06 < a < 0.25 for a in ages):
            return
        time.sleep(0.005)
    pytest.fail("never found a moment with every order mid-flight")


@pytest.mark.slow
def test_sigkill_then_resume_places_every_order_exactly_once(tmp_path):
    with Sandbox(latency=0.1) as sb:  # ~0.4 s an order: the kill lands mid-batch
        f = distinct_orders(tmp_path / "o.yaml", 15)
        proc = start_batch(sb, f, tmp_path)
        ledger = tmp_path / ".cart-cli-ledger.jsonl"
        wait_mid_flight(ledger, proc)
        proc.kill()
        proc.wait()
        first = Counter(placed_keys(sb).values())
        assert first and max(first) == 1
        r = subprocess.run(
            [CLI, "batch", str(f), *target(sb), "--resume", "--json"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "CART_CLI_CACHE_DIR": str(tmp_path / "cache")},
        )
        doc = json.loads(r.stdout)
        unresolved = [o for o in doc["orders"] if o["status"] == "unresolved"]
        assert unresolved, "orders in flight at the kill are listed for a person, not resent"
        assert r.returncode == 8 and "check before retrying" in r.stderr
        assert doc["skipped"] >= 3 and doc["failed"] == 0
        assert doc["skipped"] + len(unresolved) + doc["placed"] == 15
        assert sb.wait_idle(30)  # work that outlived the killed client finishes on the server
        placed = placed_keys(sb)
        assert len(placed) == 15 and set(placed.values()) == {1}


@pytest.mark.slow
def test_sigterm_stops_launching_finishes_in_flight_and_writes_reports(tmp_path):
    with Sandbox(latency=0.1) as sb:
        f = distinct_orders(tmp_path / "o.yaml", 15)
        proc = start_batch(sb, f, tmp_path, "--jsonl", "r.jsonl", "--junit", "r.xml")
        ledger = tmp_path / ".cart-cli-ledger.jsonl"
        wait_for_results(ledger, 2, proc)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err
        assert "stopping: no new orders" in err and "not run" in err
        lines = ledger_lines(ledger)
        submitted = {x["job"] for x in lines if x["event"] == "submitting"}
        finished = {x["job"] for x in lines if x["event"] == "result"}
        assert submitted == finished  # every order in flight was let finish and recorded
        assert 2 <= len(finished) < 15
        assert len(sandbox_orders(sb)) == len(finished)
        report = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
        assert [o["source"]["index"] for o in report] == list(range(15))  # input order
        assert {o["job"] for o in report if o["status"] == "placed"} == finished
        assert all(o["status"] == "not_run" for o in report if o["job"] not in finished)
        suite = ET.parse(tmp_path / "r.xml").getroot().find("testsuite")
        assert suite.get("tests") == "15" and suite.get("skipped") == str(15 - len(finished))
        assert oct((tmp_path / "r.xml").stat().st_mode & 0o777) == "0o600"


def test_batch_shares_one_key_and_fetches_it_again_once_when_rotated(tmp_path):
    lines: list[str] = []
    with Sandbox(log=lines.append) as sb:
        f = distinct_orders(tmp_path / "o.yaml", 6)
        r = batch(sb, f, "-H", "x-sandbox-fault: rotate-key", "--concurrency", "1", "--json")
        assert r.code == 0, r.stderr
        assert r.json()["placed"] == 6
        assert len([x for x in lines if x.startswith("GET /api/v1/payment/key")]) == 2
        assert len([x for x in lines if x.startswith("POST /api/v1/browser-session")]) == 1


def test_live_batch_display_on_a_terminal_shows_the_overall_bar_and_failures(tmp_path):
    f = multi(
        tmp_path / "o.yaml",
        [{"items": [{"variant_id": s, "quantity": 1}]} for s in ("24-MB01", "NOPE", "24-WG085")],
    )
    args = ["batch", f, "--sandbox", "--sandbox-latency", "0.2", "--ledger", tmp_path / "l"]
    pid, fd = spawn_on_a_pty(args, env={"COLUMNS": "120", "LINES": "40"})
    seen = read_until(fd, b"o.yaml#")  # an in-flight line while orders run
    code, rest = pty_exit_code(pid, fd)
    text = ANSI_SEQUENCE.sub("", (seen + rest).decode("utf-8", "replace"))
    assert code == 4, text  # one product not found
    assert (
        "3/3" in text and re.search(r"not placed\s+1", text) and "/s" in text
    )  # the overall bar at the end
    assert "Batch summary" in text and "ErrorProductNotFound" in text


@pytest.mark.parametrize("flag", ["--ledger", "--jsonl", "--junit"])
def test_unwritable_ledger_or_report_is_a_usage_error_before_sending(cart_sandbox, tmp_path, flag):
    f = distinct_orders(tmp_path / "o.yaml", 2)
    r = batch(cart_sandbox, f, flag, tmp_path / "no-such-dir" / "out")
    assert r.code == 2 and "cannot write" in r.stderr and "no-such-dir" in r.stderr
    assert sandbox_orders(cart_sandbox) == []


def test_resume_after_a_crash_mid_write_skips_placed_and_reports_unknown_in_junit(
    cart_sandbox, tmp_path
):
    """A ledger whose last line was torn by a crash, with one order sent but never answered:
    --resume skips the placed order, lists the unknown one, and JUnit says skipped and error."""
    f = distinct_orders(tmp_path / "o.yaml", 2)
    assert batch(cart_sandbox, f).code == 0
    ledger = tmp_path / ".cart-cli-ledger.jsonl"
    lines = ledger.read_text().splitlines()
    results = [i for i, x in enumerate(lines) if json.loads(x).get("event") == "result"]
    del lines[results[-1]]  # the second order's answer never got written ...
    ledger.write_text("\n".join(lines) + '\n{"event": "resu')  # ... and the crash tore a line
    r = batch(cart_sandbox, f, "--resume", "--junit", "r.xml", "--json")
    assert r.code == 8
    doc = r.json()
    assert (doc["skipped"], doc["unresolved"], doc["placed"]) == (1, 1, 0)
    junit = (tmp_path / "r.xml").read_text()
    assert 'skipped="1"' in junit and 'errors="1"' in junit and 'type="OutcomeUnknown"' in junit
    assert len(sandbox_orders(cart_sandbox)) == 2  # nothing placed twice
