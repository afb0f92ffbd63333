"""Scripted failures: header ``x-sandbox-fault: NAME[:ARG]`` per request, or ``--fault`` per run."""

from __future__ import annotations

from dataclasses import dataclass

from cart_cli.wire.names import EVENT_ORDER, FaultName

# name -> (takes an argument, what it does)
FAULTS = {
    FaultName.CUT_AFTER: (True, "close the stream right after EVENT"),
    FaultName.COMMIT_THEN_CUT: (
        False,
        "place the order, then close the stream before order-placed",
    ),
    FaultName.HTTP_500_HTML: (False, "place-order/complete-order answer 500 with an HTML page"),
    FaultName.HTTP_502_EMPTY: (False, "place-order/complete-order answer 502 with an empty body"),
    FaultName.STALL: (True, "send nothing for SECONDS before the answer"),
    FaultName.DRIP: (False, "send the event stream one byte at a time"),
    FaultName.GARBAGE_EVENT: (
        False,
        "send an event whose data is not JSON before shipping-updated",
    ),
    FaultName.TOKEN_EXPIRED_ONCE: (
        False,
        "a device's first authenticated call answers 401 InvalidToken",
    ),
    FaultName.ROTATE_KEY: (False, "rotate the key right after it is first fetched"),
    FaultName.RENEW_TOKEN_EXPIRED: (False, "the next token renewal answers 401 TokenExpired"),
    FaultName.NOTICE_ITEMS_REMOVED: (
        False,
        "place-order/complete-order drop the cart's last item and answer the cart with "
        "notice CART_ITEMS_REMOVED instead of an order (nothing is placed)",
    ),
    FaultName.ORDER_WITHOUT_NUMBER: (
        False,
        "place-order/complete-order place the order but answer without platform_order_number",
    ),
}


@dataclass(frozen=True)
class Fault:
    name: FaultName
    arg: str | None = None

    @property
    def seconds(self) -> float:
        return float(self.arg or 0)


def parse_fault(text: str | None) -> Fault | None:
    """'cut-after:item-added' -> Fault. Raises ValueError naming what is wrong."""
    if not text:
        return None
    name, _, arg = text.strip().partition(":")
    if name not in FAULTS:
        raise ValueError(f"unknown sandbox fault {name!r}; known: {', '.join(FAULTS)}")
    takes_arg = FAULTS[name][0]
    if takes_arg and not arg:
        raise ValueError(f"sandbox fault {name!r} needs an argument ({name}:ARG)")
    if name == FaultName.CUT_AFTER and arg not in EVENT_ORDER:
        raise ValueError(f"cut-after takes an event name: {', '.join(EVENT_ORDER)}")
    if name == FaultName.STALL:
        try:
            if not 0 <= float(arg) <= 3600:
                raise ValueError
        except ValueError:
            raise ValueError("stall takes a number of seconds (0-3600)") from None
    return Fault(FaultName(name), arg or None)
