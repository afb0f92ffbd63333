"""Exit codes and typed errors: the one place each is defined."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from cart_cli.wire.names import AUTH_ERRORS, Err


class Exit(IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2
    DECLINED = 3
    PRODUCT = 4
    STORE = 5
    AUTH = 6
    NETWORK = 7
    UNKNOWN = 8
    CAPTCHA = 9
    INTERRUPTED = 130


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
    Exit.INTERRUPTED: "interrupted (Ctrl-C)",
}

# How serious a failure is when a batch has several: unknown outcome first.
SEVERITY = [
    Exit.UNKNOWN,
    Exit.INTERNAL,
    Exit.AUTH,
    Exit.NETWORK,
    Exit.STORE,
    Exit.CAPTCHA,
    Exit.DECLINED,
    Exit.PRODUCT,
    Exit.USAGE,
    Exit.INTERRUPTED,
]

EXIT_FOR_ERROR = {
    Err.PAYMENT_DECLINED: Exit.DECLINED,
    Err.PRODUCT_NOT_FOUND: Exit.PRODUCT,
    Err.NOT_ENOUGH_STOCK: Exit.PRODUCT,
    Err.STORE_UNAVAILABLE: Exit.STORE,
    Err.CAPTCHA_REQUIRED: Exit.CAPTCHA,
    Err.INVALID_APP_ID: Exit.AUTH,
    Err.TOKEN_EXPIRED: Exit.AUTH,
    Err.INVALID_INPUT: Exit.USAGE,
    Err.STORE_NOT_FOUND: Exit.USAGE,
    **dict.fromkeys(AUTH_ERRORS, Exit.AUTH),
}

HINTS = {
    Err.PAYMENT_DECLINED: "Use another card (sandbox: test:visa).",
    Err.NOT_ENOUGH_STOCK: "Lower the quantity or pick another item.",
    Err.PRODUCT_NOT_FOUND: "Check the variant_id against the merchant's catalog.",
    Err.STORE_UNAVAILABLE: "The merchant is down; the order was not placed. Try again later.",
    Err.CAPTCHA_REQUIRED: "Pass --captcha-token or set captcha_token in the order file.",
    Err.INVALID_APP_ID: "Check --app-id / CART_CLI_APP_ID.",
    Err.STORE_NOT_FOUND: "Check the merchant domain.",
    Err.MISSING_PARAMETERS: "Give the cart items and shipping first (cart-cli cart add / ship).",
}

NOT_PLACED, UNKNOWN = "not_placed", "unknown"
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
    ) -> None:
        self.status = status
        self.during_work = during_work  # an `error` event: the server had begun the order
        super().__init__(
            description or name,
            code=name,
            hint=HINTS.get(name),
            request_id=request_id,
            exit_code=EXIT_FOR_ERROR.get(name, Exit.STORE),
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


class OutcomeUnknown(CartError):
    exit_code, code, outcome = Exit.UNKNOWN, "OutcomeUnknown", UNKNOWN


class Interrupted(CartError):
    """Ctrl-C or SIGTERM; ``outcome`` says whether the order had been sent."""

    exit_code, code = Exit.INTERRUPTED, "Interrupted"
