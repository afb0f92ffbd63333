"""One order sent: the one path ``place``, ``cart checkout`` and each batch job take.

    guard -> progress shown -> send -> the order call's request id watched -> outcome -> records

``submit_one`` sends nothing the guard refuses, tells its ``Flight`` the moment the order call is
about to leave and the request id it leaves with (so that an interruption can say "may have been
placed" and name it), builds the one ``OrderResult`` (with whichever request id and cart id are
known, decided here once), and has it recorded: the ``record`` hook first (a batch's ledger line),
then the history. An interruption after the order left is recorded too, as an unknown outcome,
then raised on.

Request ids reach the Flight through an explicit callback handed down to the client's order call
(``on_request``), never through a thread-local or any other hidden channel."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from cart_cli.core.checkout import (
    KeyProvider,
    OrderResult,
    Placed,
    complete_cart,
    place_order,
)
from cart_cli.core.errors import NOT_PLACED, UNKNOWN, CartError, OutcomeUnknown
from cart_cli.core.events import Event, ItemAdded, OrderPlaced, ShippingUpdated, Step

log = logging.getLogger("cart_cli.submit")

OnEvent = Callable[[Event], None]
OnRequest = Callable[[str], None]
# The send step: (on_event, on_request) -> Placed, or a CartError.
Send = Callable[[OnEvent, OnRequest], Placed]

INTERRUPTED_AFTER_SENDING = "interrupted after the order was sent"


@dataclass
class Flight:
    """One order while it is placed, as others may read it at any moment (the error boundary on
    Ctrl-C, a batch abandoning it): whether its order call has left, and what it is known by."""

    sent: bool = False
    request_id: str | None = None  # of the order call, once it is about to leave
    cart_id: str | None = None  # of the cart it was built in (the cart flow), once known
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def sending(self, request_id: str) -> None:
        """The order call is about to leave with this request id (the client's on_request)."""
        self.request_id = request_id

    def seen(self, ev: Event) -> None:
        """Keep the cart id the events carry."""
        if isinstance(ev, (ItemAdded, ShippingUpdated)):
            self.cart_id = _text(ev.cart.get("cart_id")) or self.cart_id
        elif isinstance(ev, OrderPlaced):
            self.cart_id = _text(ev.order.get("cart_id")) or self.cart_id


def _text(value) -> str | None:
    return value if isinstance(value, str) and value else None


# ---- the send steps ---


def sending_order(order, client, *, keys: KeyProvider | None = None, sse=True, flow=None) -> Send:
    """The send step of ``place`` and of each batch job: the order file's order, by its flow."""

    def send(on_event: OnEvent, on_request: OnRequest) -> Placed:
        return place_order(
            order, client, keys=keys, sse=sse, flow=flow, on_event=on_event, on_request=on_request
        )

    return send


def sending_cart(
    merchant: str, client, card, billing: dict, *, captcha_token: str | None = None
) -> Send:
    """The send step of ``cart checkout``: complete-order for the cart as it stands."""

    def send(on_event: OnEvent, on_request: OnRequest) -> Placed:
        return complete_cart(
            merchant,
            client,
            card,
            billing,
            captcha_token=captcha_token,
            on_event=on_event,
            on_request=on_request,
        )

    return send


# ---- the one path ---


def submit_one(
    send: Send,
    merchant: str,
    *,
    flight: Flight | None = None,
    guard: Callable[[], None] | None = None,
    progress: AbstractContextManager[OnEvent] | None = None,
    before_send: Callable[[], None] | None = None,
    on_event: OnEvent | None = None,
    record: Callable[[OrderResult], None] | None = None,
    history: Callable[[OrderResult], None] | None = None,
    contain_bugs: bool = False,
) -> OrderResult:
    """Place one order; returns its OrderResult (a CartError is a failed result, not raised).

    ``guard``: before anything is sent or shown; raises to refuse (the production guard).
    ``progress``: a display, entered after the guard; it takes every event.
    ``before_send``: called once, under ``flight.lock``, the moment the order call is about to
    leave (a batch writes its ledger's submitting line; raising stops the order unsent).
    ``on_event``: every event too (a batch's listeners).
    ``record``, ``history``: where the outcome is written, in that order.
    ``contain_bugs``: a bug (any other exception) becomes an internal-error result (a batch),
    instead of going on to the error boundary (one order: its traceback under --debug).

    Anything else raised (Ctrl-C, SIGTERM) goes on, once the history has the order as unknown
    if it had been sent."""
    flight = flight if flight is not None else Flight()
    if guard is not None:
        guard()
    started = time.perf_counter()

    def watch(ev: Event, show: OnEvent) -> None:
        if isinstance(ev, Step) and ev.submits and not flight.sent:
            with flight.lock:
                if before_send is not None:
                    before_send()
                flight.sent = True
        flight.seen(ev)
        show(ev)
        if on_event is not None:
            on_event(ev)

    try:
        with progress if progress is not None else contextlib.nullcontext(_ignore) as show:
            placed = send(lambda ev: watch(ev, show), flight.sending)
        result = outcome_of(merchant, flight, placed=placed)
    except CartError as e:
        result = outcome_of(merchant, flight, error=e, started=started)
    except Exception as e:
        if not contain_bugs:
            _record_unfinished(merchant, flight, history, e)
            raise
        log.debug("internal error placing an order on %s", merchant, exc_info=True)
        err = CartError(
            f"internal error: {type(e).__name__}", outcome=UNKNOWN if flight.sent else NOT_PLACED
        )
        result = outcome_of(merchant, flight, error=err, started=started)
    except BaseException as e:  # Ctrl-C, SIGTERM: once sent, it may have been placed
        _record_unfinished(merchant, flight, history, e)
        raise
    if record is not None:
        record(result)
    if history is not None:
        history(result)
    return result


def _ignore(ev: Event) -> None:
    pass


def _record_unfinished(merchant: str, flight: Flight, history, why: BaseException) -> None:
    """An order that had left when it was interrupted (or a bug struck) may have been placed:
    the history must say so."""
    if flight.sent and history is not None:
        if isinstance(why, Exception):
            err = CartError(f"internal error: {type(why).__name__}", outcome=UNKNOWN)
        else:
            err = OutcomeUnknown(INTERRUPTED_AFTER_SENDING)
        with contextlib.suppress(Exception):  # the interruption goes on whatever happens here
            history(outcome_of(merchant, flight, error=err))


def outcome_of(
    merchant: str,
    flight: Flight,
    *,
    placed: Placed | None = None,
    error: CartError | None = None,
    started: float | None = None,
) -> OrderResult:
    """The one OrderResult of an order: which request id and cart id it is known by is decided
    here, once (the answer's, else the error's, else what the flight saw)."""
    if placed is not None:
        result = OrderResult.of(merchant, placed)
    else:
        ms = int((time.perf_counter() - started) * 1000) if started is not None else 0
        result = OrderResult(merchant, False, error=error, elapsed_ms=ms)
    order = result.order or {}
    result.request_id = (
        result.request_id or (error.request_id if error else None) or flight.request_id
    )
    result.cart_id = _text(order.get("cart_id")) or flight.cart_id
    return result
