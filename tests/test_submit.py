"""core.submit.submit_one, the one path every order takes, with a scripted send step: the guard
before anything, the moment the order leaves, the ids it is known by (decided once), and what is
recorded when it fails, is interrupted, or meets a bug. End to end: test_cart_cli (Ctrl-C after
cart checkout), test_ledger (place and batch interrupts)."""

from __future__ import annotations

import contextlib

import pytest

from cart_cli.core.checkout import Placed
from cart_cli.core.errors import ApiError, OutcomeUnknown, UsageError
from cart_cli.core.events import SUBMIT, ItemAdded, OrderPlaced, Step
from cart_cli.core.submit import Flight, submit_one

M = "staging.luma.gift"


def scripted(*, fail=None, interrupt=False, bug=False, rid="rid-1"):
    """A send step: a cart event, the submit step, the request id, then the outcome."""
    calls = []

    def send(on_event, on_request):
        calls.append("send")
        on_event(ItemAdded({"cart_id": "cart-7"}, 1, 1))
        on_event(Step(SUBMIT))
        on_request(rid)
        if interrupt:
            raise KeyboardInterrupt
        if bug:
            raise ZeroDivisionError
        if fail is not None:
            raise fail
        order = {"platform_order_number": "000000001", "cart_id": "cart-8"}
        on_event(OrderPlaced(order))
        return Placed(order, rid, 12, {"submit": 3})

    return send, calls


class Book:
    """What the outcome hooks were given, in order."""

    def __init__(self):
        self.lines = []

    def record(self, result):
        self.lines.append(("ledger", result))

    def history(self, result):
        self.lines.append(("history", result))


def test_placed_the_result_carries_the_answers_ids_and_is_recorded_ledger_first():
    send, _ = scripted()
    book, flight = Book(), Flight()
    result = submit_one(send, M, flight=flight, record=book.record, history=book.history)
    assert result.ok and result.order_number == "000000001" and result.outcome == "placed"
    assert result.request_id == "rid-1" and result.cart_id == "cart-8"  # the answer's cart id
    assert flight.sent and flight.request_id == "rid-1"
    assert [(w, r is result) for w, r in book.lines] == [("ledger", True), ("history", True)]
    assert result.ledger_fields() == {
        "outcome": "placed",
        "order_number": "000000001",
        "request_id": "rid-1",
        "cart_id": "cart-8",
        "code": None,
        "exit_code": 0,
        "message": None,
    }


def test_a_failure_without_a_request_id_takes_the_one_it_was_sent_with():
    send, _ = scripted(fail=OutcomeUnknown("the stream broke off"))
    book = Book()
    result = submit_one(send, M, history=book.history)
    assert not result.ok and result.outcome == "unknown"
    assert result.request_id == "rid-1" and result.cart_id == "cart-7"  # from the events
    assert result.to_json()["error"]["code"] == "OutcomeUnknown"
    assert [w for w, _ in book.lines] == ["history"]


def test_the_errors_own_request_id_wins():
    err = ApiError("ErrorPaymentDeclined", "declined", status=400, request_id="rid-answer")
    send, _ = scripted(fail=err)
    result = submit_one(send, M)
    assert result.request_id == "rid-answer" and result.outcome == "not_placed"
    assert result.ledger_fields()["code"] == "ErrorPaymentDeclined"


def test_a_guard_that_refuses_sends_nothing_shows_nothing_and_records_nothing():
    send, calls = scripted()
    book, shown = Book(), []

    @contextlib.contextmanager
    def progress():
        shown.append("up")
        yield lambda ev: None

    def refuse():
        raise UsageError("not confirmed: nothing was sent")

    with pytest.raises(UsageError):
        submit_one(send, M, guard=refuse, progress=progress(), history=book.history)
    assert calls == [] and shown == [] and book.lines == []


def test_before_send_is_told_once_under_the_lock_and_can_stop_the_order():
    send, _ = scripted()
    flight, seen = Flight(), []

    def before_send():
        seen.append(flight.lock.locked())

    submit_one(send, M, flight=flight, before_send=before_send)
    assert seen == [True]

    def stop():
        raise OutcomeUnknown("stopped", outcome="not_placed")

    flight = Flight()
    result = submit_one(scripted()[0], M, flight=flight, before_send=stop)
    assert not flight.sent and not result.ok and result.outcome == "not_placed"


def test_an_interrupt_after_sending_leaves_an_unknown_history_record_then_goes_on():
    send, _ = scripted(interrupt=True)
    book, flight = Book(), Flight()
    with pytest.raises(KeyboardInterrupt):
        submit_one(send, M, flight=flight, record=book.record, history=book.history)
    ((where, result),) = book.lines
    assert where == "history" and result.outcome == "unknown"
    assert result.error.code == "OutcomeUnknown" and result.request_id == "rid-1"
    assert result.error.message == "interrupted after the order was sent"


def test_an_interrupt_before_sending_records_nothing():
    book = Book()

    def send(on_event, on_request):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        submit_one(send, M, history=book.history)
    assert book.lines == []


def test_a_bug_goes_to_the_boundary_or_is_contained_as_an_internal_error():
    book = Book()
    with pytest.raises(ZeroDivisionError):
        submit_one(scripted(bug=True)[0], M, history=book.history)
    ((_, result),) = book.lines  # it had been sent: the history says it may be placed
    assert (
        result.outcome == "unknown" and result.error.message == "internal error: ZeroDivisionError"
    )
    result = submit_one(scripted(bug=True)[0], M, contain_bugs=True)
    assert not result.ok and result.outcome == "unknown" and result.request_id == "rid-1"
