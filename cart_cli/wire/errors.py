"""The contract's errors, one row per name: the HTTP status the server answers with, the exit code
the client ends with, and the hint it gives (docs/api.md, "Errors"). The client maps answers by
name (never by status alone); the sandbox answers with the status. Exit codes are defined here."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from cart_cli.wire.names import Err


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
    EXPECTATION = 10  # an order file's expect: was not met (smoke suites)
    INTERRUPTED = 130


@dataclass(frozen=True)
class ErrorSpec:
    status: int
    exit_code: Exit
    hint: str | None = None
    sandbox_hint: str | None = None  # against a loopback sandbox: may name its test cards


ERRORS: dict[str, ErrorSpec] = {
    Err.INVALID_INPUT: ErrorSpec(400, Exit.USAGE),
    Err.PRODUCT_NOT_FOUND: ErrorSpec(
        404, Exit.PRODUCT, "Check the variant_id against the merchant's catalog."
    ),
    Err.NOT_ENOUGH_STOCK: ErrorSpec(400, Exit.PRODUCT, "Lower the quantity or pick another item."),
    Err.PAYMENT_DECLINED: ErrorSpec(
        402, Exit.DECLINED, "Use another card.", "Use another card (sandbox: test:visa)."
    ),
    Err.STORE_UNAVAILABLE: ErrorSpec(
        503, Exit.STORE, "The merchant is down; the order was not placed. Try again later."
    ),
    Err.STORE_NOT_FOUND: ErrorSpec(404, Exit.USAGE, "Check the merchant domain."),
    Err.MISSING_PARAMETERS: ErrorSpec(
        400, Exit.STORE, "Give the cart items and shipping first (cart-cli cart add / ship)."
    ),
    Err.CART_NOT_FOUND: ErrorSpec(404, Exit.STORE),
    Err.CAPTCHA_REQUIRED: ErrorSpec(
        400, Exit.CAPTCHA, "Pass --captcha-token or set captcha_token in the order file."
    ),
    Err.INVALID_TOKEN: ErrorSpec(401, Exit.AUTH),
    Err.UNAUTHORIZED: ErrorSpec(401, Exit.AUTH),
    Err.MISSING_AUTH: ErrorSpec(401, Exit.AUTH),
    Err.INVALID_APP_ID: ErrorSpec(400, Exit.AUTH, "Check --app-id / CART_CLI_APP_ID."),
    Err.TOKEN_EXPIRED: ErrorSpec(401, Exit.AUTH),
    Err.ROUTE_NOT_FOUND: ErrorSpec(404, Exit.STORE, "The server has no such route: check the URL."),
    Err.NOT_FOUND: ErrorSpec(404, Exit.STORE, "The server has no such route: check the URL."),
    Err.METHOD_NOT_ALLOWED: ErrorSpec(405, Exit.STORE),
}
UNLISTED = ErrorSpec(400, Exit.STORE)  # a name the contract does not list


def spec(name: str) -> ErrorSpec:
    return ERRORS.get(name, UNLISTED)
