"""Typed errors and what exit codes mean (the codes themselves are defined with the error table
in wire.errors)."""

from __future__ import annotations

from dataclasses import dataclass

from cart_cli.wire.errors import Exit, spec
from cart_cli.wire.names import Outcome

EXIT_MEANING = {
    Exit.OK: "order placed",
    Exit.INTERNAL: "internal error (a bug)",
    Exit.USAGE: "usage error or invalid order file",
    Exit.DECLINED: "payment declined",
    Exit.PRODUCT: "product not found or not enough stock, or the cart changed (not placed)",
    Exit.STORE: "store unavailable, or another server error that says the order was not placed",
    Exit.AUTH: "authentication failed (bad app id, token refused after renewal)",
    Exit.NETWORK: "network error or timeout before the order was submitted",
    Exit.UNKNOWN: "outcome unknown: the order may have been placed",
    Exit.CAPTCHA: "captcha required",
    Exit.EXPECTATION: "expectation not met (an order file's expect: differed from the outcome)",
    Exit.INTERRUPTED: "interrupted (Ctrl-C)",
}

# How serious a failure is when a batch has several: unknown outcome first.
SEVERITY = [
    Exit.UNKNOWN,
    Exit.INTERNAL,
    Exit.AUTH,
    Exit.NETWORK,
    Exit.STORE,
    Exit.EXPECTATION,
    Exit.CAPTCHA,
    Exit.DECLINED,
    Exit.PRODUCT,
    Exit.USAGE,
    Exit.INTERRUPTED,
]

NOT_PLACED, UNKNOWN = Outcome.NOT_PLACED, Outcome.UNKNOWN
MAY_BE_PLACED = (
    "The order may or may not have been placed. Do not retry blindly: check the merchant "
    "(order list or e-mail) first."
)


class CartError(Exception):
    """Every failure a user can meet: a message, a code name, an exit code."""

    exit_code: Exit = Exit.INTERNAL
    code: str = "InternalError"
    outcome: str | None = NOT_PLACED

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        hint: str | None = None,
        request_id: str | None = None,
        exit_code: Exit | None = None,
        outcome: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if exit_code is not None:
            self.exit_code = exit_code
        if outcome is not None:
            self.outcome = outcome
        self.hint = hint
        self.request_id = request_id

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "message": self.message,
            "request_id": self.request_id,
            "outcome": self.outcome,
            "exit_code": int(self.exit_code),
        }

    def describe(self) -> str:
        parts = [self.message.rstrip(".") + "."]
        if self.request_id:
            parts.append(f"(request id {self.request_id})")
        if self.outcome == UNKNOWN:
            parts.append(MAY_BE_PLACED)
        elif self.hint:
            parts.append(self.hint)
        return " ".join(parts)


class UsageError(CartError):
    exit_code, code = Exit.USAGE, "UsageError"


@dataclass(frozen=True)
class Problem:
    file: str
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class OrderInvalid(UsageError):
    """One or more problems in an order file or flags; nothing was sent."""

    code = "InvalidOrder"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        n = len(problems)
        super().__init__(f"invalid order ({n} problem{'s' if n != 1 else ''}):\n{lines}")

    def describe(self) -> str:
        return self.message


class ApiError(CartError):
    """The server answered with an API error body: mapped by its ``error`` name."""

    def __init__(
        self,
        name: str,
        description: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        outcome: str = NOT_PLACED,
        during_work: bool = False,
        sandbox: bool = False,
    ) -> None:
        self.status = status
        self.during_work = during_work  # an `error` event: the server had begun the order
        super().__init__(
            description or name,
            code=name,
            hint=(sandbox and spec(name).sandbox_hint) or spec(name).hint,
            request_id=request_id,
            exit_code=spec(name).exit_code,
            outcome=outcome,
        )

    def describe(self) -> str:
        return f"{self.code}: {super().describe()}"


class NetworkError(CartError):
    exit_code, code = Exit.NETWORK, "NetworkError"


class ServerError(CartError):
    """A non-API answer (HTML, empty) before the order was submitted: nothing was placed."""

    exit_code, code = Exit.STORE, "ServerError"


class CartChanged(CartError):
    """A 200 that is the cart with a ``notice`` (e.g. CART_ITEMS_REMOVED), not an order: nothing
    was placed, and the cart changed under us (docs/api.md, "A 200 is not always an order")."""

    exit_code, code = Exit.PRODUCT, "CartChanged"

    def __init__(self, notices: list[str], *, what: str, request_id: str | None = None) -> None:
        self.notices = notices
        super().__init__(
            f"{what} answered without an order: the cart changed ({', '.join(notices)}); "
            "nothing was placed",
            code=notices[0],
            hint="An item may have gone out of stock: check the items (the cart flow's cart: "
            "cart-cli cart show --merchant DOMAIN) and place the order again.",
            request_id=request_id,
        )


class SessionReplaced(CartError):
    """The session was replaced by a new one (a new device) while the cart flow built the cart:
    the cart is the device's, so completing it would place another order than asked."""

    exit_code, code = Exit.AUTH, "SessionReplaced"


class CartBusy(CartError):
    """The cart flow will not touch a merchant's cart while an earlier order on it has an
    unknown outcome: its complete-order may still be running on the server."""

    exit_code, code = Exit.STORE, "CartBusy"


class OutcomeUnknown(CartError):
    exit_code, code, outcome = Exit.UNKNOWN, "OutcomeUnknown", UNKNOWN


class Interrupted(CartError):
    """Ctrl-C or SIGTERM; ``outcome`` says whether the order had been sent."""

    exit_code, code = Exit.INTERRUPTED, "Interrupted"
