"""Event and error names of the contract: the one place they are spelled."""

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
    NOT_FOUND = "ErrorNotFound"  # no such route
    METHOD_NOT_ALLOWED = "ErrorMethodNotAllowed"  # a route, but not for this method


AUTH_ERRORS = frozenset({Err.INVALID_TOKEN, Err.UNAUTHORIZED, Err.MISSING_AUTH})

# Headers
H_ACCEPT = "accept"
SSE_MEDIA_TYPE = "text/event-stream"
H_APP_ID = "x-firmly-app-id"
H_AUTH = "x-firmly-authorization"
H_REQUEST_ID = "x-firmly-request-id"
H_KID = "x-firmly-kid"
H_FAULT = "x-sandbox-fault"
