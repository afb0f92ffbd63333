"""Batch memory stays flat: full order answers wait on disk for the reports, the summary keeps
what it shows, and the --json document is written piece by piece, still one valid document."""

from __future__ import annotations

import io
import json

from cart_cli.core import reports
from cart_cli.core.checkout import OrderResult
from cart_cli.core.errors import ApiError
from cart_cli.core.order import load_orders
from cart_cli.core.plan import Job
from cart_cli.core.runner import FAILED, NOT_RUN, PLACED, JobOutcome, Summary
from tests.helpers import inputs
from tests.test_batch import batch, multi


def outcomes(tmp_path, n=6) -> Summary:
    entry = {"items": [{"variant_id": "24-MB01", "quantity": 1}]}
    [(_, order)] = load_orders(multi(tmp_path / "o.yaml", [entry]), inputs=inputs())
    out = []
    for i in range(n):
        job = Job("o.yaml", str(tmp_path / "o.yaml"), 0, i, order, "0123456789abcdef", i)
        if i % 3 == 0:
            answer = {
                "platform_order_number": f"{i:09d}",
                "cart_id": f"c{i}",
                "total": {"number": 1234, "currency": "USD", "value": 12.34},
                "line_items": [{"sku": "24-MB01", "description": "x" * 2000}],
            }
            r = OrderResult(order.merchant, True, order=answer, request_id=f"r{i}")
            out.append(JobOutcome(job, PLACED, r, order_number=answer["platform_order_number"]))
        elif i % 3 == 1:
            err = ApiError("ErrorPaymentDeclined", "declined", request_id=f"r{i}")
            out.append(JobOutcome(job, FAILED, OrderResult(order.merchant, False, error=err)))
        else:
            out.append(JobOutcome(job, NOT_RUN, note="interrupted"))
    return Summary(outcomes=out, elapsed=1.5)


def test_the_spool_keeps_the_full_answer_on_disk_and_little_in_memory(tmp_path):
    summary = outcomes(tmp_path)
    expected = [json.loads(json.dumps(o.to_json(), default=str)) for o in summary.outcomes]
    spool = reports.Spool()
    try:
        for o in reversed(summary.outcomes):  # orders finish in any order
            spool.finished(o)
        placed = summary.outcomes[0]
        assert set(placed.result.order) == {"platform_order_number", "cart_id", "total"}
        path = tmp_path / "r.jsonl"
        reports.write_jsonl(path, summary, spool)
        lines = [json.loads(line) for line in path.read_text().splitlines()]
    finally:
        spool.close()
    assert lines == expected  # in input order, each answer whole
    assert lines[0]["order"]["line_items"][0]["description"] == "x" * 2000


def test_streamed_summary_json_is_one_document_equal_to_the_whole_one(tmp_path):
    summary = outcomes(tmp_path)
    whole = json.loads(json.dumps(summary.to_json(), default=str))
    spool = reports.Spool()
    try:
        for o in summary.outcomes:
            spool.finished(o)
        out = io.StringIO()
        reports.write_summary_json(out, summary, spool)
    finally:
        spool.close()
    assert json.loads(out.getvalue()) == whole
    empty = io.StringIO()
    reports.write_summary_json(empty, Summary(elapsed=0.0))
    assert json.loads(empty.getvalue())["orders"] == []


def test_batch_json_and_jsonl_carry_every_full_answer(cart_sandbox, tmp_path):
    entries = [{"items": [{"variant_id": "24-MB01", "quantity": 1}]}] * 4
    entries.append({"items": [{"variant_id": "24-MB01", "quantity": 1}], "card": "test:declined"})
    f = multi(tmp_path / "o.yaml", entries)
    r = batch(cart_sandbox, f, "--json", "-q", "--jsonl", tmp_path / "r.jsonl")
    doc = json.loads(r.stdout)  # one valid document
    assert r.code == 3 and doc["total"] == 5 and doc["placed"] == 4
    lines = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert doc["orders"] == lines
    placed = [o for o in lines if o["ok"]]
    assert len(placed) == 4 and all(o["order"]["line_items"] for o in placed)
    assert all(o["order"]["shipping_info"]["city"] for o in placed)
    assert [o["error"]["code"] for o in lines if not o["ok"]] == ["ErrorPaymentDeclined"]


def test_a_large_run_lists_placed_orders_as_lines_and_the_rest_in_the_table(
    cart_sandbox, tmp_path, monkeypatch
):
    from cart_cli.cli.commands import batch as batch_cmd

    monkeypatch.setattr(batch_cmd, "TABLE_ROWS", 3)  # "large" without placing hundreds
    entries = [{"items": [{"variant_id": "24-MB01", "quantity": 1}]}] * 4
    entries.append({"items": [{"variant_id": "24-MB01", "quantity": 1}], "card": "test:declined"})
    r = batch(cart_sandbox, multi(tmp_path / "o.yaml", entries), "-q")
    assert r.code == 3
    head, _, table = r.stdout.partition("Batch summary")
    assert head.startswith("Placed (4): order, merchant, order number, total, seconds")
    placed_lines = head.strip().splitlines()[1:]
    assert len(placed_lines) == 4 and all("staging.luma.gift" in x for x in placed_lines)
    assert "000000001" in head and "$" in head
    assert "ErrorPaymentDeclined" in table and "000000001" not in table  # failures in full


def test_the_deadline_watchdog_keeps_no_entries_of_finished_calls():
    # A batch starts, renews (on each chunk of the stream) and finishes a call per order: the
    # watchdog's heap stays the size of the calls in flight, not of the run.
    from cart_cli.core.transport import Watchdog

    dog = Watchdog()
    for i in range(2000):
        call = dog.start(f"r{i}", 60)
        for _ in range(5):
            dog.renew(call)
        dog.finish(call)
    live = [dog.start(f"live{i}", 60) for i in range(8)]
    assert len(dog._heap) <= 64 + 2 * len(live)
    assert all(any(e[2] is c for e in dog._heap) for c in live)  # the live ones still watched
