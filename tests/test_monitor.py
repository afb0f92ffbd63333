"""cart-cli monitor against the sandbox: the metrics port (Prometheus text and OpenMetrics, read
with prometheus_client's own parsers) moves with each round; --once --textfile writes a valid
file atomically; SIGTERM stops it cleanly; the ledger and the history mark its orders."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import stat
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics
from prometheus_client.parser import text_string_to_metric_families as prometheus_text

from cart_cli.core.errors import UsageError
from cart_cli.core.monitor import parse_every
from tests.helpers import ADDRESS, CLI, cli, sandbox_orders, target


def smoke(tmp_path: Path) -> str:
    doc = {
        "defaults": {
            "merchant": "staging.luma.gift",
            "shipping_info": ADDRESS,
            "card": "test:visa",
        },
        "orders": [
            {"items": [{"variant_id": "WS12-XS-Orange", "quantity": 1}]},
            {
                "items": [{"variant_id": "MH07-XS-Gray", "quantity": 1}],
                "card": "test:declined",
                "expect": {"outcome": "declined"},
            },
        ],
    }
    (tmp_path / "smoke.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return "smoke.yaml"


def samples(text: str, parse=prometheus_text) -> dict:
    """(name, sorted labels) -> value, for every sample."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in parse(text)
        for s in family.samples
    }


def value(got: dict, name: str, **labels) -> float | None:
    return got.get((name, tuple(sorted(labels.items()))))


PLACED = {"merchant": "staging.luma.gift", "order": "smoke.yaml#0"}
DECLINED = {"merchant": "staging.luma.gift", "order": "smoke.yaml#1"}


def scrape(url: str, openmetrics_format: bool = False) -> str:
    accept = "application/openmetrics-text; version=1.0.0" if openmetrics_format else "text/plain"
    req = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(req, timeout=10) as answer:
        kind = answer.headers["Content-Type"]
        assert ("openmetrics" in kind) == openmetrics_format, kind
        return answer.read().decode()


def test_monitor_metrics_move_with_each_round_and_sigterm_stops_it(cart_sandbox, tmp_path):
    f = smoke(tmp_path)
    args = ["monitor", f, "--every", "50ms", "--metrics-port", "0", *target(cart_sandbox)]
    p = subprocess.Popen([CLI, *args], stderr=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        err = b""
        deadline = time.monotonic() + 30
        while b"/metrics" not in err and time.monotonic() < deadline:
            if select.select([p.stderr], [], [], 0.2)[0]:
                err += os.read(p.stderr.fileno(), 4096)
        url = re.search(rb"http://127\.0\.0\.1:\d+/metrics", err).group().decode()

        def rounds() -> tuple[float, dict]:
            got = samples(scrape(url))
            return value(got, "cart_cli_monitor_rounds_total") or 0, got

        def wait_for_round(after: float) -> dict:
            deadline = time.monotonic() + 30
            while (n := rounds())[0] <= after:
                assert time.monotonic() < deadline, "no new round in 30 s"
                time.sleep(0.02)
            return n[1]

        first = wait_for_round(0)
        n1 = value(first, "cart_cli_monitor_rounds_total")
        second = wait_for_round(n1)
        n2 = value(second, "cart_cli_monitor_rounds_total")
        for got in (first, second):
            assert value(got, "cart_cli_probe_success", **PLACED) == 1
            assert value(got, "cart_cli_probe_success", **DECLINED) == 1  # as expected
            assert value(got, "cart_cli_probe_expectation_met", **DECLINED) == 1
            assert value(got, "cart_cli_probe_last_success_timestamp_seconds", **PLACED) > 0
        # Counters move with each round (a scrape can land between two orders of a round).
        placed = "cart_cli_probe_outcomes_total"
        p1 = value(first, placed, **PLACED, outcome="placed", code="")
        p2 = value(second, placed, **PLACED, outcome="placed", code="")
        assert 1 <= p1 < p2 and p2 >= n2 - 1
        d2 = value(second, placed, **DECLINED, outcome="not_placed", code="ErrorPaymentDeclined")
        assert d2 >= n2 - 1
        count = "cart_cli_probe_duration_seconds_count"
        assert value(first, count, **PLACED) < value(second, count, **PLACED)
        stage = "cart_cli_probe_stage_duration_seconds_count"
        assert value(second, stage, **PLACED, stage="submit") >= n2 - 1
        assert value(second, stage, **PLACED, stage="order-placed") >= n2 - 1

        # The same registry in OpenMetrics, through its own (strict) parser.
        om = scrape(url, openmetrics_format=True)
        assert om.rstrip().endswith("# EOF")
        got = samples(om, openmetrics)
        assert value(got, "cart_cli_probe_success", **PLACED) == 1

        p.send_signal(signal.SIGTERM)
        _, rest = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate(timeout=10)
    assert p.returncode == 0, (err + rest).decode()
    assert "stopping: no new round" in rest.decode() and "stopped" in rest.decode()
    # Its orders are in the ledger and the history, marked as a monitor's.
    lines = [json.loads(x) for x in (tmp_path / ".cart-cli-monitor-ledger.jsonl").open()]
    assert {x.get("via") for x in lines[1:]} == {"monitor"}
    history = [json.loads(x) for x in (tmp_path / "data" / "history.jsonl").open()]
    assert history and {h.get("via") for h in history} == {"monitor"}
    assert len(sandbox_orders(cart_sandbox)) >= n2


def test_monitor_once_writes_a_textfile_atomically(cart_sandbox, tmp_path):
    f = smoke(tmp_path)
    prom = tmp_path / "cart.prom"
    prom.write_text("old\n")
    keep = tmp_path / "old.prom"
    os.link(prom, keep)  # a rewrite in place would change this one too
    r = cli(["monitor", f, "--once", "--textfile", prom, "--no-history", *target(cart_sandbox)])
    assert r.code == 0, r.stderr
    assert r.stdout == "" and "round 1: 2 passed, 0 failed" in r.stderr
    assert keep.read_text() == "old\n" and prom.stat().st_ino != keep.stat().st_ino
    assert stat.S_IMODE(prom.stat().st_mode) == 0o644  # node_exporter runs as another user
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".cart.prom")) == []
    got = samples(prom.read_text())
    assert value(got, "cart_cli_probe_success", **PLACED) == 1
    assert value(got, "cart_cli_monitor_rounds_total") == 1
    assert value(got, "cart_cli_probe_outcomes_total", **PLACED, outcome="placed", code="") == 1
    assert not (tmp_path / "data" / "history.jsonl").exists()

    # --once alone: the metrics on stdout, and the round's exit code.
    os.unlink(tmp_path / ".cart-cli-monitor-ledger.jsonl")
    doc = yaml.safe_load((tmp_path / f).read_text())
    doc["orders"][1]["expect"]["outcome"] = "placed"
    (tmp_path / f).write_text(yaml.safe_dump(doc))
    r = cli(["monitor", f, "--once", *target(cart_sandbox)])
    assert r.code == 10, r.stderr  # an expectation not met
    got = samples(r.stdout)
    assert value(got, "cart_cli_probe_success", **DECLINED) == 0
    assert value(got, "cart_cli_probe_expectation_met", **DECLINED) == 0


def test_monitor_refuses_before_sending(tmp_path):
    f = smoke(tmp_path)
    prod = ["--api-url", "https://api.example.com", "--payment-url", "https://pay.example.com"]
    r = cli(["monitor", f, "--once", *prod, "--app-id", "x", "--max-orders", "5", "--yes"])
    assert r.code == 2 and "test card" in r.stderr and "production" in r.stderr
    r = cli(["monitor", f, "--every", "1m", *prod, "--app-id", "x"])
    assert r.code == 2 and "--metrics-port" in r.stderr
    r = cli(["monitor", f, "--every", "soon", "--once"])
    assert r.code == 2 and "--every 'soon'" in r.stderr


@pytest.mark.parametrize(
    ("text", "seconds"), [("5m", 300), ("30s", 30), ("1h", 3600), ("250ms", 0.25), ("2", 2)]
)
def test_every_takes_a_duration(text, seconds):
    assert parse_every(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "-1s", "0", "1ms", "nan", "inf", "5 minutes", "٥m"])
def test_every_refuses_what_is_not_a_duration(text):
    with pytest.raises(UsageError):
        parse_every(text)


@pytest.mark.parametrize("text", ["inf", "nan", "1e400", "1e400s"])
def test_every_says_a_non_finite_number_is_not_a_duration(text):
    with pytest.raises(UsageError, match="is not a duration"):
        parse_every(text)


def test_monitor_stops_when_its_limit_is_reached(cart_sandbox, tmp_path):
    f = smoke(tmp_path)
    args = ["monitor", f, "--every", "10ms", "--textfile", "m.prom", "--max-orders", "3"]
    r = cli([*args, *target(cart_sandbox)])
    assert r.code == 0, r.stderr
    assert "stopped: --max-orders 3 reached" in r.stderr
    assert len(sandbox_orders(cart_sandbox)) == 2  # smoke.yaml#0 twice; the declines are none
    got = samples((tmp_path / "m.prom").read_text())
    assert value(got, "cart_cli_monitor_rounds_total") == 2
    assert value(got, "cart_cli_probe_outcomes_total", **PLACED, outcome="placed", code="") == 2
    declined = value(
        got, "cart_cli_probe_outcomes_total", **DECLINED, outcome="not_placed", code=DECLINE
    )
    assert declined == 1  # not run in the second round: not counted


DECLINE = "ErrorPaymentDeclined"


class Stop(threading.Event):
    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout=None):
        self.waits.append(timeout)
        return super().wait(0)


def test_rounds_never_overlap_and_a_slow_one_delays_the_next():
    from cart_cli.core.monitor import Monitor
    from cart_cli.core.runner import Summary

    now = [0.0]
    took = iter([7, 1, 1])  # the first round takes longer than --every
    inside = []
    stop = Stop()

    def run_round(jobs, listeners):
        inside.append(1)
        assert len(inside) == 1, "two rounds at once"
        now[0] += next(took)
        inside.pop()
        return Summary(outcomes=[])

    def on_round(r) -> None:
        if r.number == 3:
            stop.set()

    m = Monitor(
        [],
        run_round,
        every=5,
        stop=stop,
        now=lambda: __import__("datetime").datetime(2031, 9, 1),
        on_round=on_round,
        clock=lambda: now[0],
    )
    last = m.loop()
    assert last.number == 3 and m.rounds == 3
    # After the 7 s round: straight on (no wait); after the 1 s one: the 4 s left.
    assert stop.waits == [4]


def test_a_scrape_waits_for_the_round_being_observed_and_can_ask_for_some_names():
    """A scrape never sees half a round (durations from before it, counters from after)."""
    from prometheus_client import start_http_server

    from cart_cli.core.monitor import Metrics

    metrics = Metrics()
    metrics.rounds.inc()
    server, _thread = start_http_server(0, addr="127.0.0.1", registry=metrics)
    url = f"http://127.0.0.1:{server.server_port}/metrics"
    try:
        got: list[str] = []
        with metrics._lock:  # a round being observed
            scraper = threading.Thread(target=lambda: got.append(scrape(url)))
            scraper.start()
            scraper.join(0.3)
            assert scraper.is_alive() and not got  # it waits ...
        scraper.join(10)
        assert "cart_cli_monitor_rounds_total 1.0" in got[0]  # ... then reads the whole round
        some = scrape(url + "?name[]=cart_cli_monitor_rounds_total")
        assert "cart_cli_monitor_rounds_total 1.0" in some and "cart_cli_probe" not in some
    finally:
        server.shutdown()
