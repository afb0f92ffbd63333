"""Every route of the contract (docs/api.md), in one table: the client builds its URLs from it and
the sandbox routes from it, so the two cannot drift apart."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

API, PAYMENT = "api", "payment"  # the two hosts (docs/api.md, "Hosts")


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    host: str  # API or PAYMENT
    path: str  # a template: {domain}, {sku}, {qty}, {handle:path} (Starlette's syntax too)

    def url(self, base: str, **params: object) -> str:
        """``base`` + the path, each parameter percent-encoded as one path segment."""
        template = re.sub(r"\{(\w+):\w+\}", r"{\1}", self.path)  # {handle:path} -> {handle}
        return base + template.format(**{k: quote(str(v), safe="") for k, v in params.items()})


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
SET_QUANTITY = Route("set-quantity", "PUT", API, _CART + "/line-items/{sku}")
GET_CONSENTS = Route("get-consents", "GET", API, _CART + "/consents")
SET_CONSENTS = Route("set-consents", "POST", API, _CART + "/consents")
# Cart v2 (the winstonchen client): add by add_to_cart_ref, shipments. The GET's trailing slash
# is part of the route (Firmly's v2 answers only with it).
_CART_V2 = "/api/v2/domains/{domain}/cart"
V2_ADD_ITEM = Route("v2-add-item", "POST", API, _CART_V2 + "/line-items")
V2_GET_CART = Route("v2-get-cart", "GET", API, _CART_V2 + "/")
V2_SHIPPING_METHOD = Route(
    "v2-shipping-method", "POST", API, _CART_V2 + "/shipments/shipping-method"
)
# Products: a product by handle (a handle may hold slashes), or by its page's URL (?url=).
PRODUCT = Route("product", "GET", API, "/api/v1/domains-products/{domain}/{handle:path}")
PRODUCT_BY_URL = Route("product-by-url", "GET", API, "/api/v1/domains-pdp")

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
    SET_QUANTITY,
    PRODUCT,
    PRODUCT_BY_URL,
)

# What the sandbox serves besides, because Firmly's own browser clients call it (docs/api.md).
BROWSER_CLIENTS = (GET_CONSENTS, SET_CONSENTS, V2_ADD_ITEM, V2_GET_CART, V2_SHIPPING_METHOD)

# The sandbox's own inspection routes (no part of the contract).
SANDBOX_ORDERS = Route("sandbox-orders", "GET", API, "/__sandbox/orders")
SANDBOX_STOCK = Route("sandbox-stock", "GET", API, "/__sandbox/stock")
SANDBOX_RESET = Route("sandbox-reset", "POST", API, "/__sandbox/reset")
