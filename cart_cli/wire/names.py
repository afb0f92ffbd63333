"""Event and error names of the contract: the one place they are spelled."""

# SSE events of place-order (API.md 4b), in stream order.
CREATING_CART = "creating-cart"
ITEM_ADDED = "item-added"
SHIPPING_UPDATED = "shipping-updated"
ORDER_PLACED = "order-placed"
ERROR = "error"
EVENT_ORDER = (CREATING_CART, ITEM_ADDED, SHIPPING_UPDATED, ORDER_PLACED)


class Err:
    """Error names of API.md section 6 (plus the sandbox's unknown-merchant answer)."""

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
    NOT_FOUND = "ErrorNotFound"


AUTH_ERRORS = frozenset({Err.INVALID_TOKEN, Err.UNAUTHORIZED, Err.MISSING_AUTH})

# Headers
H_APP_ID = "x-firmly-app-id"
H_AUTH = "x-firmly-authorization"
H_REQUEST_ID = "x-firmly-request-id"
H_KID = "x-firmly-kid"
H_FAULT = "x-sandbox-fault"
