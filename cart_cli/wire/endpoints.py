"""Every route of the contract (docs/api.md), in one table: the client builds its URLs from it and
the sandbox routes from it, so the two cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

API, PAYMENT = "api", "payment"  # the two hosts (docs/api.md, "Hosts")


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    host: str  # API or PAYMENT
    path: str  # a template: {domain}, {sku}, {qty} (Starlette's syntax too)

    def url(self, base: str, **params: object) -> str:
        """``base`` + the path, each parameter percent-encoded as one path segment."""
        return base + self.path.format(**{k: quote(str(v), safe="") for k, v in params.items()})


BROWSER_SESSION = Route("browser-session", "POST", API, "/api/v1/browser-session")
PUBLIC_KEY = Route("public-key", "GET", PAYMENT, "/api/v1/payment/key")
PLACE_ORDER = Route("place-order", "POST", PAYMENT, "/api/v1/payment/domains/{domain}/place-order")
COMPLETE_ORDER = Route(
    "complete-order", "POST", PAYMENT, "/api/v1/payment/domains/{domain}/complete-order"
)
_CART = "/api/v1/domains/{domain}/cart"
GET_CART = Route("get-cart", "GET", API, _CART)
ADD_ITEM = Route("add-item", "POST", API, _CART + "/line-items/{sku}/quantity/{qty}")
SHIPPING_INFO = Route("shipping-info", "POST", API, _CART + "/shipping-info")
SHIPPING_METHOD = Route("shipping-method", "POST", API, _CART + "/shipping-method")
CLEAR_CART = Route("clear-cart", "DELETE", API, _CART + "/line-items")

# What the client calls (and so what the sandbox must serve).
CLIENT = (
    BROWSER_SESSION,
    PUBLIC_KEY,
    PLACE_ORDER,
    COMPLETE_ORDER,
    GET_CART,
    ADD_ITEM,
    SHIPPING_INFO,
    SHIPPING_METHOD,
    CLEAR_CART,
)

# The sandbox's own inspection routes (no part of the contract).
SANDBOX_ORDERS = Route("sandbox-orders", "GET", API, "/__sandbox/orders")
SANDBOX_STOCK = Route("sandbox-stock", "GET", API, "/__sandbox/stock")
SANDBOX_RESET = Route("sandbox-reset", "POST", API, "/__sandbox/reset")
SANDBOX_ONLY = (SANDBOX_ORDERS, SANDBOX_STOCK, SANDBOX_RESET)
