"""The batch ledger and what rests on it: identity, resume, targets, report paths, the ledger
command, failures inside the batch machinery, and interrupts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cart_cli.core import ledger as ledgers
from cart_cli.core import plan as planning
from cart_cli.core import runner
from tests.helpers import CLI, GOOD_YEAR, cli, inputs, sandbox_orders, target, write_order
from tests.test_batch import batch, distinct_orders, multi

LEDGER = ".cart-cli-ledger.jsonl"


def lines(path):
    """The ledger's records, after its header line."""
    text = Path(path).read_text()
    header, *records = [json.loads(x) for x in text.splitlines() if x.strip()]
    assert header["cart-cli"] == "ledger"
    return records


def lines_so_far(path):
    """The records of a ledger a running cart-cli is writing: only its complete lines, and
    none until its header line is whole (it is created empty, then given its header)."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return []
    done = [json.loads(x) for x in text[: text.rfind("\n") + 1].splitlines() if x.strip()]
    if not done:
        return []
    assert done[0]["cart-cli"] == "ledger"
    return done[1:]


# ---- identity ---------------------------------------------------------------------------------


def test_job_identity_is_the_same_from_any_folder_and_on_any_day(tmp_path, monkeypatch):
    (tmp_path / "b1").mkdir()
    f = distinct_orders(tmp_path / "b1" / "o.yaml", 2)
    (tmp_path / "link").symlink_to(tmp_path / "b1")
    ids = []
    for typed, cwd in [
        ("b1/o.yaml", tmp_path),
        (str(f), tmp_path / "b1"),
        ("../b1/./o.yaml", tmp_path / "b1"),
        ("link/o.yaml", tmp_path),
    ]:
        monkeypatch.chdir(cwd)
        ids.append([j.id for j in planning.plan(planning.collect([typed], inputs()))])
    import cart_cli.core.order as order_module

    class NewYear(date):
        @classmethod
        def today(cls):
            return date(date.today().year + 1, 1, 1)

    monkeypatch.setattr(order_module, "date", NewYear)  # test:visa's expiry moves a year
    jobs = planning.plan(planning.collect(["link/o.yaml"], inputs()))
    ids.append([j.id for j in jobs])
    assert all(x == ids[0] for x in ids) and len(set(ids[0])) == 2
    assert jobs[0].path == os.path.realpath(f)


def test_job_identity_changes_with_the_order_but_not_with_the_card_secrets(tmp_path):
    card = {
        "number": "4111111111111111",
        "name": "A B",
        "month": 1,
        "year": GOOD_YEAR,
        "cvv": "123",
    }
    other = {**card, "number": "5555555555554444", "cvv": "999"}
    h = [
        planning.entry_hash({"merchant": "m.example", "card": c, "items": items})
        for c, items in [(card, [1]), (other, [1]), (card, [2])]
    ]
    assert h[0] == h[1] != h[2]


@settings(max_examples=100, deadline=None)
@given(
    card=st.fixed_dictionaries(
        {"number": st.text(), "cvv": st.text(), "name": st.text(max_size=5)}
    ),
    other=st.fixed_dictionaries({"number": st.text(), "cvv": st.text()}),
    items=st.lists(st.integers(), max_size=3),
)
def test_entry_hash_ignores_card_secrets_and_key_order(card, other, items):
    a = {"merchant": "m.example", "items": items, "card": card}
    b = {"card": {**card, **other}, "items": items, "merchant": "m.example"}
    assert planning.entry_hash(a) == planning.entry_hash(b)
    assert planning.entry_hash(a) != planning.entry_hash({**a, "items": [*items, 0]})


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=60),
            st.builds(
                json.dumps,
                st.dictionaries(
                    st.sampled_from(["v", "event", "job", "outcome", "source", "id"]),
                    st.one_of(
                        st.none(),
                        st.integers(),
                        st.text(max_size=5),
                        st.sampled_from([2, "result"]),
                    ),
                ),
            ).map(str.encode),
        ),
        max_size=8,
    )
)
def test_reading_any_ledger_never_fails(tmp_path, chunks):
    path = tmp_path / "any.jsonl"
    path.write_bytes(b"\n".join(chunks))
    contents = ledgers.read(path)
    assert set(contents.by_state()) >= {"placed", "not_placed", "unknown"}


# ---- resume -----------------------------------------------------------------------------------


def test_resume_from_another_folder_with_an_absolute_path_places_nothing_twice(
    cart_sandbox, tmp_path, monkeypatch
):
    (tmp_path / "b1").mkdir()
    (tmp_path / "elsewhere").mkdir()
    f = distinct_orders(tmp_path / "b1" / "o.yaml", 3)
    r = batch(cart_sandbox, "b1/o.yaml", "--ledger", "l.jsonl")
    assert r.code == 0, r.stderr
    monkeypatch.chdir(tmp_path / "elsewhere")
    for typed in (str(f), "../b1/o.yaml"):
        r = batch(cart_sandbox, typed, "--resume", "--ledger", "../l.jsonl", "--json")
        doc = r.json()
        assert r.code == 0 and doc["skipped"] == 3 and doc["placed"] == 0, r.stderr
    assert len(sandbox_orders(cart_sandbox)) == 3


def test_resume_against_another_target_refuses_unless_told(cart_sandbox, tmp_path):
    f = distinct_orders(tmp_path / "o.yaml", 2)
    assert batch(cart_sandbox, f).code == 0
    other = ["batch", f, "--api-url", cart_sandbox.url, "--payment-url", cart_sandbox.url]
    r = cli([*other, "--app-id", "another-app", "--resume"])
    assert r.code == 2
    assert "records 2 of these orders against" in r.stderr and "--resume-other-target" in r.stderr
    assert "'another-app'" in r.stderr and "'tests'" in r.stderr
    r = cli([*other, "--app-id", "another-app", "--resume", "--resume-other-target", "--json"])
    assert r.code == 0 and r.json()["skipped"] == 2
    assert len(sandbox_orders(cart_sandbox)) == 2
    line = lines(tmp_path / LEDGER)[-1]
    assert line["target"] == {"api": cart_sandbox.url, "payment": cart_sandbox.url, "app": "tests"}


def test_an_old_ledger_is_read_without_crashing_and_not_matched(cart_sandbox, tmp_path):
    f = distinct_orders(tmp_path / "o.yaml", 1)
    old = {"event": "result", "id": f"{f}|abc|0|0", "outcome": "placed", "order_number": "1"}
    (tmp_path / LEDGER).write_text(json.dumps(old) + '\nnot json\n[1]\n{"v": 2, "event"')
    r = batch(cart_sandbox, f, "--resume", "--json")
    assert r.code == 0 and r.json()["placed"] == 1
    assert "1 line(s) of" in r.stderr and "older cart-cli" in r.stderr
    last = json.loads((tmp_path / LEDGER).read_text().splitlines()[-1])  # after the torn line
    assert last["event"] == "result" and last["outcome"] == "placed"
    r = cli(["ledger", LEDGER])
    assert r.code == 0 and "1 orders (0 unknown, 0 not placed, 1 placed)" in r.stdout
    assert "older cart-cli" in r.stderr and f"{LEDGER}:2: not JSON" in r.stderr


# ---- report paths -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flags",
    [
        ["--jsonl", "L.jsonl", "--ledger", "L.jsonl"],
        ["--jsonl", "./sub/../L.jsonl", "--ledger", "L.jsonl"],
        ["--junit", "r.xml", "--jsonl", "r.xml"],
        ["--junit", "link.xml", "--jsonl", "r.xml"],
        ["--junit", LEDGER],
        ["--ledger", "o.yaml"],
        ["--jsonl", "./o.yaml"],
    ],
)
def test_a_report_on_the_ledger_or_another_report_is_refused(cart_sandbox, tmp_path, flags):
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.xml").symlink_to(tmp_path / "r.xml")
    f = distinct_orders(tmp_path / "o.yaml", 2)
    (tmp_path / "L.jsonl").write_text('{"v": 2}\n')
    r = batch(cart_sandbox, f, *flags)
    assert r.code == 2 and "are the same file" in r.stderr
    assert sandbox_orders(cart_sandbox) == []
    assert (tmp_path / "L.jsonl").read_text() == '{"v": 2}\n'  # nothing emptied
    assert f.read_text().startswith("defaults:")
    assert not (tmp_path / "r.xml").exists()


def test_stdout_redirected_to_the_ledger_is_refused(cart_sandbox, tmp_path):
    f = distinct_orders(tmp_path / "o.yaml", 1)
    with open(tmp_path / LEDGER, "a") as out:
        p = subprocess.run(
            [CLI, "batch", str(f), *target(cart_sandbox)],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert p.returncode == 2 and "standard output is redirected to --ledger" in p.stderr
    assert sandbox_orders(cart_sandbox) == []


# ---- the ledger command -----------------------------------------------------------------------


def test_ledger_resolve_then_resume_goes_on(cart_sandbox, tmp_path):
    f = distinct_orders(tmp_path / "o.yaml", 3)
    r = batch(cart_sandbox, f, "-H", "x-sandbox-fault: commit-then-cut", "--json")
    assert r.code == 8
    doc = r.json()
    assert doc["groups"] == {"placed": 0, "not_placed": 0, "unknown": 3}
    assert all(u["request_id"] for u in doc["unknown"])
    assert "may have been placed, check before retrying" in r.stderr
    jobs = [o["job"] for o in doc["orders"]]  # input order
    assert [o["source"]["index"] for o in doc["orders"]] == [0, 1, 2]
    for line in lines(tmp_path / LEDGER):
        if line["event"] == "result":
            assert line["outcome"] == "unknown" and line["request_id"] and line["cart_id"]

    r = cli(["ledger", LEDGER, "--json"])
    assert r.code == 0 and [x["job"] for x in r.json()["unknown"]] == jobs

    number = sandbox_orders(cart_sandbox)[0]["order_number"]
    r = cli(["ledger", "resolve", jobs[0][:6], "--placed", number])
    assert r.code == 0 and f"recorded as placed as {number} (was unknown)" in r.stderr
    r = cli(["ledger", "resolve", f"./{f.name}#1", "--not-placed"])  # by name, typed another way
    assert r.code == 0 and "recorded as not placed" in r.stderr
    r = cli(["ledger", "resolve", jobs[2]])
    assert r.code == 2 and "--placed ORDER_NUMBER or --not-placed" in r.stderr
    r = cli(["ledger", "resolve", "ffffffffffff", "--not-placed"])
    assert r.code == 2 and "no job" in r.stderr

    r = cli(["ledger"])
    assert "1 unknown, 1 not placed, 1 placed" in r.stdout
    # each group under a heading after a blank line (not a visible "\\n")
    assert "\n\nNot placed (1):\n" in r.stdout and "\n\nPlaced (1):\n" in r.stdout
    assert "\\n" not in r.stdout
    assert f"{jobs[0]}  {f}#0  staging.luma.gift  order {number} (resolved by hand)" in r.stdout
    r = batch(cart_sandbox, f, "--resume", "--json")
    doc = r.json()
    assert r.code == 8  # the third is still unknown
    assert [o["status"] for o in doc["orders"]] == ["skipped", "placed", "unresolved"]
    assert doc["orders"][0]["order_number"] == number
    assert len(sandbox_orders(cart_sandbox)) == 4  # only the one found not placed was sent again


def test_retry_not_placed_retries_only_sure_failures(cart_sandbox, tmp_path):
    f = multi(
        tmp_path / "o.yaml",
        [
            {"items": [{"variant_id": "24-MB01", "quantity": 1}]},
            {"items": [{"variant_id": "24-MB01", "quantity": 2}], "card": "test:declined"},
            {"items": [{"variant_id": "24-MB01", "quantity": 3}]},
        ],
    )
    r = batch(cart_sandbox, f, "--concurrency", "1", "--fail-fast", "--json")
    assert r.code == 3
    assert [o["status"] for o in r.json()["orders"]] == ["placed", "failed", "not_run"]
    r = batch(cart_sandbox, f, "--retry-not-placed", "--json")
    doc = r.json()
    assert [o["status"] for o in doc["orders"]] == ["skipped", "failed", "not_run"]
    assert doc["orders"][1]["error"]["code"] == "ErrorPaymentDeclined"
    assert len(sandbox_orders(cart_sandbox)) == 1


# ---- failures inside the batch machinery --------------------------------------------------------


def _client(sandbox):
    from cart_cli.core.client import Client, Endpoints

    return Client(Endpoints(sandbox.url, sandbox.url, "tests"), timeout=(10, 30))


class Exploding(runner.Listener):
    def __init__(self, method):
        self.method = method

    def started(self, job):
        if self.method == "started":
            raise RuntimeError("boom")

    def event(self, job, ev):
        if self.method == "event":
            raise RuntimeError("boom")

    def finished(self, outcome):
        if self.method == "finished":
            raise RuntimeError("boom")


@pytest.mark.parametrize("method", ["started", "event", "finished"])
def test_a_failing_listener_loses_no_order_and_fails_the_batch(cart_sandbox, tmp_path, method):
    jobs = planning.plan(planning.collect([distinct_orders(tmp_path / "o.yaml", 4)], inputs()))
    book = ledgers.Ledger(tmp_path / "l.jsonl", {"api": "a", "payment": "p", "app": "x"})
    client = _client(cart_sandbox)
    try:
        summary = runner.run(
            client, jobs, concurrency=2, ledger=book, listeners=[Exploding(method)]
        )
    finally:
        client.close()
    assert [o.status for o in summary.outcomes] == ["placed"] * 4
    assert summary.exit_code != 0 and len(summary.problems) == 1
    assert f"Exploding.{method} failed" in summary.problems[0]
    assert len(sandbox_orders(cart_sandbox)) == 4
    assert book.read().by_state()["placed"] and len(book.read().jobs) == 4


def test_a_ledger_that_fails_to_record_a_result_loses_no_order(cart_sandbox, tmp_path):
    class Flaky(ledgers.Ledger):
        def result(self, job, *a, **kw):
            if job.index == 1:
                raise OSError(28, "No space left on device")
            super().result(job, *a, **kw)

    jobs = planning.plan(planning.collect([distinct_orders(tmp_path / "o.yaml", 3)], inputs()))
    client = _client(cart_sandbox)
    try:
        summary = runner.run(client, jobs, concurrency=1, ledger=Flaky(tmp_path / "l.jsonl"))
    finally:
        client.close()
    assert [o.status for o in summary.outcomes] == ["placed", "placed", "not_run"]
    assert summary.exit_code == 1 and "could not record" in summary.problems[0]
    assert len(sandbox_orders(cart_sandbox)) == 2


def test_an_order_is_never_sent_without_its_ledger_line(cart_sandbox, tmp_path):
    class Full(ledgers.Ledger):
        def _append(self, record):
            raise OSError(28, "No space left on device")

    jobs = planning.plan(planning.collect([distinct_orders(tmp_path / "o.yaml", 3)], inputs()))
    client = _client(cart_sandbox)
    try:
        summary = runner.run(client, jobs, concurrency=1, ledger=Full(tmp_path / "l.jsonl"))
    finally:
        client.close()
    assert [o.status for o in summary.outcomes] == ["failed", "not_run", "not_run"]
    assert summary.outcomes[0].code == "LedgerWriteError"
    assert summary.outcomes[0].group == "not_placed" and summary.exit_code != 0
    assert sandbox_orders(cart_sandbox) == []


def test_junit_is_written_once_at_the_end(cart_sandbox, tmp_path, monkeypatch):
    from cart_cli.core import outputs

    writes = []
    real = outputs.write
    monkeypatch.setattr(
        outputs, "write", lambda o, *a, **k: (writes.append(o.path), real(o, *a, **k))
    )
    f = distinct_orders(tmp_path / "o.yaml", 6)
    r = batch(cart_sandbox, f, "--junit", "r.xml", "--jsonl", "r.jsonl", "--concurrency", "3")
    assert r.code == 0
    assert sorted(os.path.basename(p) for p in writes) == ["r.jsonl", "r.xml"]
    assert ET.parse(tmp_path / "r.xml").getroot().get("tests") == "6"
    for name in ("r.xml", "r.jsonl", LEDGER):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600


# ---- interrupts: the installed command in a subprocess ------------------------------------------


class Proc:
    """A running cart-cli whose stderr is read line by line as it comes."""

    def __init__(self, args, cwd):
        self.p = subprocess.Popen(
            [CLI, *map(str, args)],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.err: list[str] = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.p.stderr:
            with self.changed:
                self.err.append(line)
                self.changed.notify_all()

    def wait_for_stderr(self, text, timeout=30):
        with self.changed:
            ok = self.changed.wait_for(lambda: any(text in x for x in self.err), timeout)
        assert ok, f"no {text!r} on stderr: {''.join(self.err)}"

    def finish(self, timeout=30):
        out = self.p.stdout.read()
        self.p.wait(timeout)
        self.reader.join(timeout)
        return self.p.returncode, out, "".join(self.err)


def test_lines_so_far_waits_for_the_header_and_whole_lines(tmp_path):
    path = tmp_path / LEDGER
    header = '{"cart-cli":"ledger","v":2}'
    for text, expected in [
        (None, []),
        ("", []),
        (header, []),  # written, its newline not yet
        (header + '\n{"event":"submit', []),
        (header + '\n{"event":"submitting"}\n', [{"event": "submitting"}]),
    ]:
        if text is not None:
            path.write_text(text)
        assert lines_so_far(path) == expected


def wait_for_ledger(path, event, n=1, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(1 for x in lines_so_far(path) if x.get("event") == event) >= n:
            return
        time.sleep(0.01)
    pytest.fail(f"no {event} line in the ledger")


@pytest.mark.slow
def test_double_ctrl_c_with_sandbox_abandons_at_once_without_traceback(tmp_path):
    f = distinct_orders(tmp_path / "o.yaml", 12)
    latency = 10  # each order in flight still needs at least 4 steps of it
    proc = Proc(
        ["batch", f, "--sandbox", "--sandbox-latency", latency, "--concurrency", "3",
         "--jsonl", "r.jsonl", "--junit", "r.xml", "--json"],
        tmp_path,
    )  # fmt: skip
    ledger = tmp_path / LEDGER
    wait_for_ledger(ledger, "submitting", 3)
    proc.p.send_signal(signal.SIGINT)
    proc.wait_for_stderr("stopping: no new orders")
    started = time.monotonic()
    proc.p.send_signal(signal.SIGINT)
    code, out, err = proc.finish()
    assert time.monotonic() - started < 2 * latency  # not the 40 s the orders in flight still need
    assert code == 130, err
    assert "Traceback" not in err and "Exception" not in err
    doc = json.loads(out)  # exactly one JSON document
    assert doc["interrupted"] and doc["abandoned"] and doc["total"] == 12
    assert doc["groups"] == {"placed": 0, "not_placed": 9, "unknown": 3}
    assert [o["status"] for o in doc["orders"]] == ["interrupted"] * 3 + ["not_run"] * 9
    assert "may have been placed, check before retrying" in err and "o.yaml#2" in err
    assert all(len(u["request_id"]) == 32 for u in doc["unknown"]) and "not known" not in err
    suite = ET.parse(tmp_path / "r.xml").getroot().find("testsuite")
    assert suite.get("tests") == "12" and suite.get("skipped") == "12"
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 12
    states = ledgers.read(ledger).by_state()
    assert len(states["unknown"]) == 3 and not states["placed"]
    assert {r["request_id"] for r in states["unknown"]} == {u["request_id"] for u in doc["unknown"]}
    # the order history says so too, as place's does after an interrupt
    history = cli(["orders", "list", "--json"]).json()["orders"]
    assert sorted((r["outcome"], r["request_id"]) for r in history) == sorted(
        ("unknown", u["request_id"]) for u in doc["unknown"]
    )


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_place_json_interrupted_prints_one_json_document(tmp_path, sig):
    f = write_order(tmp_path / "o.yaml")
    proc = Proc(["place", f, "--sandbox", "--sandbox-latency", "2", "--json"], tmp_path)
    proc.wait_for_stderr("creating cart")
    proc.p.send_signal(sig)
    code, out, err = proc.finish()
    assert code == 130 and "Traceback" not in err
    doc = json.loads(out)
    assert doc["ok"] is False and doc["error"]["code"] == "Interrupted"
    assert doc["error"]["outcome"] == "unknown" and "may or may not have been placed" in err


def test_a_failure_before_sending_is_recorded_and_retried(cart_sandbox, tmp_path):
    from cart_cli.core.errors import NetworkError

    jobs = planning.plan(planning.collect([distinct_orders(tmp_path / "o.yaml", 2)], inputs()))
    book = ledgers.Ledger(tmp_path / "l.jsonl", {"api": "a", "payment": "p", "app": "x"})
    down = _client(cart_sandbox)
    down.token = lambda: (_ for _ in ()).throw(NetworkError("cannot reach the api"))
    summary = runner.run(down, jobs, ledger=book)
    assert [o.group for o in summary.outcomes] == ["not_placed"] * 2
    states = book.read().by_state()
    assert len(states["not_placed"]) == 2 and not states["unknown"]
    client = _client(cart_sandbox)
    try:
        summary = runner.run(client, jobs, ledger=book, only_not_placed=True)
    finally:
        client.close()
        down.close()
    assert [o.status for o in summary.outcomes] == ["placed"] * 2
    assert len(sandbox_orders(cart_sandbox)) == 2


def test_resume_says_when_an_order_placed_earlier_was_edited(cart_sandbox, tmp_path):
    f = distinct_orders(tmp_path / "o.yaml", 2)
    assert batch(cart_sandbox, f).code == 0
    f.write_text(f.read_text().replace("quantity: 1", "quantity: 3", 1))
    r = batch(cart_sandbox, f, "--resume", "--json")
    assert r.code == 0 and [o["status"] for o in r.json()["orders"]] == ["placed", "skipped"]
    assert "1 order(s) changed since the ledger recorded them" in r.stderr


def test_a_report_that_cannot_be_written_at_the_end_fails_the_batch(
    cart_sandbox, tmp_path, monkeypatch
):
    from cart_cli.core import reports

    def full(path, summary, **kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(reports, "write_junit", full)
    f = distinct_orders(tmp_path / "o.yaml", 2)
    r = batch(cart_sandbox, f, "--junit", "r.xml", "--jsonl", "r.jsonl", "--json")
    doc = r.json()
    assert r.code == 1 and doc["placed"] == 2 and "No space left" in doc["problems"][0]
    assert "problem: cannot write r.xml" in r.stderr
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 2


def test_ledger_lines_carry_the_runs_clock(cart_sandbox, tmp_path):
    """The ledger's times come from the run's clock (CART_CLI_NOW here), not the process's."""
    f = distinct_orders(tmp_path / "o.yaml", 1)
    now = {"CART_CLI_NOW": "2031-09-01T12:00:00"}
    r = batch(cart_sandbox, f, "-H", "x-sandbox-fault: commit-then-cut", "--json", env=now)
    assert r.code == 8
    job = r.json()["orders"][0]["job"]
    r = cli(["ledger", "resolve", job, "--not-placed"], env={"CART_CLI_NOW": "2031-09-02"})
    assert r.code == 0, r.stderr
    stamps = [line["at"] for line in lines(tmp_path / LEDGER)]
    # the run's clock starts there and moves on: same day and minute, real gaps
    assert [x[:16] for x in stamps] == ["2031-09-01T12:00"] * 2 + ["2031-09-02T00:00"]


def test_a_second_run_on_the_same_ledger_is_refused(cart_sandbox, tmp_path):
    """Two runs on one ledger would both find an order unsent and both send it."""
    f = distinct_orders(tmp_path / "o.yaml", 2)
    first = ledgers.Ledger(tmp_path / LEDGER)
    with first.held():
        second = ledgers.Ledger(tmp_path / LEDGER).held()
        with pytest.raises(ledgers.UsageError, match="is in use by another batch run"):
            second.__enter__()
        r = batch(cart_sandbox, f, "--json")
        assert r.code == 2, r.stderr
        assert f"the ledger {LEDGER} is in use by another batch run" in r.stderr
        assert r.json()["error"]["code"] == "LedgerBusy"
        assert sandbox_orders(cart_sandbox) == []
        other = batch(cart_sandbox, f, "--ledger", "other.jsonl")  # its own ledger: fine
        assert other.code == 0, other.stderr
    r = batch(cart_sandbox, f, "--resume")  # released: the next run goes on
    assert r.code == 0 and len(sandbox_orders(cart_sandbox)) == 4  # 2 by each ledger


def test_ledger_resolve_does_not_overrule_a_placed_order_without_force(cart_sandbox, tmp_path):
    """A placed order marked not placed would be sent again by the next --resume."""
    f = distinct_orders(tmp_path / "o.yaml", 1)
    doc = batch(cart_sandbox, f, "--json").json()
    job, number = doc["orders"][0]["job"], doc["orders"][0]["order_number"]
    before = lines(tmp_path / LEDGER)

    r = cli(["ledger", "resolve", job, "--not-placed"])
    assert r.code == 2 and f"is recorded in {LEDGER} as placed as order {number}" in r.stderr
    assert "pass --force" in r.stderr
    r = cli(["ledger", "resolve", job, "--placed", "999"])
    assert r.code == 2 and f"as order {number}, not 999" in r.stderr
    assert lines(tmp_path / LEDGER) == before  # nothing recorded
    r = cli(["ledger", "resolve", job, "--placed", number])  # the same finding: fine
    assert r.code == 0, r.stderr
    r = batch(cart_sandbox, f, "--resume", "--json")
    assert r.json()["orders"][0]["status"] == "skipped"

    r = cli(["ledger", "resolve", job, "--not-placed", "--force"])
    assert r.code == 0 and "--resume will now send it again" in r.stderr


def test_ledger_resolve_wants_four_characters_of_a_job_id(cart_sandbox, tmp_path):
    f = distinct_orders(tmp_path / "o.yaml", 1)
    job = batch(cart_sandbox, f, "-H", "x-sandbox-fault: commit-then-cut", "--json").json()
    job = job["orders"][0]["job"]
    r = cli(["ledger", "resolve", job[:3], "--not-placed"])
    assert r.code == 2 and "give at least 4 characters of the job id" in r.stderr
    r = cli(["ledger", "resolve", job[:4], "--not-placed"])
    assert r.code == 0, r.stderr


def test_retry_not_placed_says_when_the_failed_order_was_edited(cart_sandbox, tmp_path):
    """Not "no earlier failure": the failure is there, for the entry as it was before the edit."""
    f = multi(
        tmp_path / "o.yaml",
        [{"items": [{"variant_id": "24-MB01", "quantity": 2}], "card": "test:declined"}],
    )
    assert batch(cart_sandbox, f).code == 3
    f.write_text(f.read_text().replace("test:declined", "test:visa"))
    r = batch(cart_sandbox, f, "--retry-not-placed", "--json")
    (order,) = r.json()["orders"]
    assert order["status"] == "not_run"
    assert "edited since the ledger recorded it (not placed)" in order["note"]
    assert "without --retry-not-placed" in order["note"]
    r = batch(cart_sandbox, f, "--retry-not-placed")
    assert "edited since the ledger" in r.stdout + r.stderr
    assert sandbox_orders(cart_sandbox) == []


def test_lines_written_at_once_share_one_fsync_and_each_is_on_disk_before_its_append_returns(
    tmp_path, monkeypatch
):
    import threading

    path = tmp_path / "l.jsonl"
    book = ledgers.Ledger(path)
    synced = []  # how many lines the file had when each fsync began
    real_fsync = os.fsync

    def slow_fsync(fd):
        began = len(path.read_bytes().splitlines())
        time.sleep(0.02)
        real_fsync(fd)
        synced.append(began)

    monkeypatch.setattr(ledgers.os, "fsync", slow_fsync)
    start = threading.Barrier(16)
    late = []

    def append(i: int) -> None:
        start.wait(timeout=10)
        book._append({"event": "submitting", "job": f"j{i}"})
        mine = next(n for n, x in enumerate(path.read_text().splitlines(), 1) if f'"j{i}"' in x)
        if not synced or max(synced) < mine:
            late.append(i)  # returned before an fsync covered its line

    threads = [threading.Thread(target=append, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not late
    assert len(lines(path)) == 16
    assert len(synced) < 16  # shared: not one fsync per line
    book.close()
    assert not book._fd
