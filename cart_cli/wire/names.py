"""Event and error names of the contract: the one place they are spelled."""

from enum import Enum

# SSE events of place-order (docs/api.md, "Events"), in stream order.
CREATING_CART = "creating-cart"
ITEM_ADDED = "item-added"
SHIPPING_UPDATED = "shipping-updated"
ORDER_PLACED = "order-placed"
ERROR = "error"
EVENT_ORDER = (CREATING_CART, ITEM_ADDED, SHIPPING_UPDATED, ORDER_PLACED)

# A 200 that is not an order carries these (docs/api.md, "A 200 is not always an order").
NOTICE = "notice"
ORDER_NUMBER = "platform_order_number"


class Err:
    """Error names of docs/api.md "Errors" (plus the sandbox's answers for unknown routes)."""

    INVALID_INPUT = "ErrorInvalidInputBody"
    PRODUCT_NOT_FOUND = "ErrorProductNotFound"
    NOT_ENOUGH_STOCK = "ErrorNotEnoughStock"
    PAYMENT_DECLINED = "ErrorPaymentDeclined"
    STORE_UNAVAILABLE = "ErrorStoreUnavailable"
    STORE_NOT_FOUND = "ErrorStoreNotFound"
    MISSING_PARAMETERS = "ErrorMissingRequiredParameters"
    CART_NOT_FOUND = "ErrorCartNotFound"
    CAPTCHA_REQUIRED = "ErrorCaptchaRequired"
    INVALID_TOKEN = "InvalidToken"
    UNAUTHORIZED = "ErrorUnauthorized"
    MISSING_AUTH = "MissingAuthHeader"
    INVALID_APP_ID = "InvalidAppId"
    TOKEN_EXPIRED = "TokenExpired"  # renewal of a token more than a week old (docs/api.md)
    ROUTE_NOT_FOUND = "RouteNotFound"  # no such route: the sandbox's name, and Firmly UAT's
    NOT_FOUND = "ErrorNotFound"  # no such route, as other servers name it (read, never sent)
    METHOD_NOT_ALLOWED = "ErrorMethodNotAllowed"  # a route, but not for this method


AUTH_ERRORS = frozenset({Err.INVALID_TOKEN, Err.UNAUTHORIZED, Err.MISSING_AUTH})
# "This route does not exist on this server" (404), under either name: --flow auto reads it.
NO_ROUTE_ERRORS = frozenset({Err.ROUTE_NOT_FOUND, Err.NOT_FOUND})

# Headers
H_ACCEPT = "accept"
SSE_MEDIA_TYPE = "text/event-stream"
H_APP_ID = "x-firmly-app-id"
H_AUTH = "x-firmly-authorization"
H_REQUEST_ID = "x-firmly-request-id"
H_KID = "x-firmly-kid"
H_FAULT = "x-sandbox-fault"


class _Name(str, Enum):
    """A name that is also its string: compares, hashes and serialises as the text."""

    def __str__(self) -> str:
        return self.value


class Outcome(_Name):
    """What happened to an order, as results, the ledger and --json say it."""

    PLACED = "placed"
    NOT_PLACED = "not_placed"
    UNKNOWN = "unknown"


class JobStatus(_Name):
    """What happened to a batch job in this run."""

    PLACED = "placed"  # placed now
    FAILED = "failed"  # sent or tried, and failed (not placed, or outcome unknown)
    SKIPPED = "skipped"  # placed in an earlier run (the ledger says so)
    UNRESOLVED = "unresolved"  # outcome unknown in an earlier run: not sent again
    NOT_RUN = "not_run"  # never launched (interrupt, --fail-fast, --retry-not-placed)
    INTERRUPTED = "interrupted"  # in flight when the batch was abandoned


class Schema(_Name):
    """The versioned names of cart-cli's JSON documents (each described by the JSON Schema
    docs/schemas/NAME.json: a member renamed or removed makes a new version)."""

    ORDER_RESULT = "cart-cli.order-result/1"
    BATCH_RESULT = "cart-cli.batch-result/2"
    DRY_RUN = "cart-cli.dry-run/1"
    CART = "cart-cli.cart/1"
    PRODUCT = "cart-cli.product/1"
    LEDGER = "cart-cli.ledger/1"
    ERROR = "cart-cli.error/1"
    VALIDATE = "cart-cli.validate/1"
    DOCTOR = "cart-cli.doctor/1"
    HISTORY = "cart-cli.history/1"  # a history.jsonl line; orders show --json
    ORDERS = "cart-cli.orders/1"  # orders list --json
    PROFILES = "cart-cli.profiles/1"  # profile list --json
    PROFILE = "cart-cli.profile/1"  # profile show --json


class FaultName(_Name):
    """The sandbox's scripted failures (header x-sandbox-fault: NAME[:ARG], or --fault)."""

    CUT_AFTER = "cut-after"
    COMMIT_THEN_CUT = "commit-then-cut"
    HTTP_500_HTML = "http-500-html"
    HTTP_502_EMPTY = "http-502-empty"
    STALL = "stall"
    DRIP = "drip"
    GARBAGE_EVENT = "garbage-event"
    TOKEN_EXPIRED_ONCE = "token-expired-once"
    ROTATE_KEY = "rotate-key"
    RENEW_TOKEN_EXPIRED = "renew-token-expired"
    NOTICE_ITEMS_REMOVED = "notice-items-removed"
    ORDER_WITHOUT_NUMBER = "order-without-number"


# The encrypted card (docs/api.md, "The encrypted card"): compact JWE with these algorithms.
JWE_ALG = "RSA-OAEP-256"
JWE_ENC = "A256GCM"
