"""The sandbox's state and rules: what it remembers (stock, carts, orders, one-shot faults) and
the operations on it. No HTTP here: ``handlers.py`` maps requests onto these methods.

By concern: ``keyring`` (the card key), ``tokens`` (access tokens), ``carts`` (carts and
pricing), ``payments`` (what is kept of a card), ``orders`` (placed orders), ``errors``.
Money is integer cents throughout.
"""

from __future__ import annotations

import collections
import ctypes
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone

from cart_cli.sandbox.carts import Cart, with_state_name
from cart_cli.sandbox.catalog import Merchant
from cart_cli.sandbox.errors import SandboxError, token_expired
from cart_cli.sandbox.keyring import KeyRing
from cart_cli.sandbox.orders import PlacedOrder
from cart_cli.sandbox.payments import Payment
from cart_cli.sandbox.tokens import Tokens
from cart_cli.wire.names import Err

# Re-exported: the names code outside the sandbox (and its tests) has long imported from here.
__all__ = ["Cart", "KeyRing", "Payment", "PlacedOrder", "SandboxError", "State", "token_expired"]

KEEP_ORDERS = 10_000  # placed orders listed by /__sandbox/orders; older ones are dropped
# Carts of the existing-cart flow, one per device and store: at most MAX_CARTS (the least
# recently used goes first) and none unused for CART_IDLE seconds, so that a client making
# sessions without end cannot grow the sandbox without end.
MAX_CARTS = 10_000
CART_IDLE = 3600
CART_ITEMS_REMOVED = "CART_ITEMS_REMOVED"


def consents_offered(m: Merchant) -> list[dict]:
    """One marketing consent, shaped as Firmly's v4 drop-in reads it: ``type`` "marketing",
    ``text`` with an optional ``%fterms{"text": ...}%`` part (lib-v4/components/v4/
    flow-single-page.svelte, getConsents)."""
    return [
        {
            "id": "marketing",
            "type": "marketing",
            "text": f"Email me news and offers from {m.display_name} "
            '(%fterms{"text": "terms"}%).',
        }
    ]


def _give_back_memory() -> None:
    """Return freed heap pages to the OS (glibc keeps them otherwise); a no-op elsewhere."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return
    trim(0)


class State:
    """Everything the sandbox remembers. Mutations take the lock; none of them awaits."""

    def __init__(
        self,
        merchants: dict[str, Merchant],
        token_ttl: int = 3600,
        app_ids: frozenset[str] | None = None,
        keep_orders: int = KEEP_ORDERS,
        clock: Callable[[], float] = time.time,
        max_carts: int = MAX_CARTS,
        cart_idle: float = CART_IDLE,
    ) -> None:
        self.merchants = merchants
        self.clock = clock  # seconds since the epoch; tests move it instead of sleeping
        self.token_ttl = token_ttl
        self.tokens = Tokens(token_ttl, clock)
        self.app_ids = app_ids  # None: any non-empty application id is valid
        self.keep_orders = keep_orders
        self.max_carts, self.cart_idle = max_carts, cart_idle
        self.keys = KeyRing()
        self.lock = threading.Lock()
        # (device, domain) -> cart, least recently used first
        self.carts: collections.OrderedDict[tuple[str, str], Cart] = collections.OrderedDict()
        self.orders: collections.deque[PlacedOrder] = collections.deque()
        self._clear()

    def now(self) -> datetime:
        """The sandbox's time (its clock: the run's when cart-cli starts it), for card expiry and
        order times."""
        return datetime.fromtimestamp(self.clock(), timezone.utc)

    def reset(self) -> None:
        """Back to the catalog's stock, no carts, no orders; the memory they held goes back."""
        self._clear()
        _give_back_memory()

    def _clear(self) -> None:
        with self.lock:
            old = (self.carts, self.orders)
            self.stock = {
                d: {s: p.stock for s, p in m.products.items()} for d, m in self.merchants.items()
            }
            self.carts = collections.OrderedDict()
            self.signed: dict[tuple[str, str], set[str]] = {}  # consents signed per device
            # The oldest orders drop out of the listing past the bound; numbering and stock
            # do not depend on what is kept.
            self.orders = collections.deque(maxlen=self.keep_orders)
            self.tokens.forget()
            self.counters = dict.fromkeys(self.merchants, 0)
            self.fired: set[str] = set()  # one-shot faults that already happened
            self.generation = getattr(self, "generation", 0) + 1  # work begun before is void
        for container in old:
            container.clear()

    # ---- merchants -------------------------------------------------------------
    def merchant(self, domain: str) -> Merchant:
        m = self.merchants.get(domain)
        if m is None:
            raise SandboxError(Err.STORE_NOT_FOUND, f"No store is configured for domain {domain}")
        return m

    @staticmethod
    def check_open(m: Merchant) -> None:
        if m.mode == "down":
            raise SandboxError(
                Err.STORE_UNAVAILABLE, f"{m.display_name} is temporarily unavailable"
            )

    # ---- auth (tokens.py does the work; kept here so that handlers see one object) --------
    @property
    def verified(self) -> dict[str, tuple[str, int]]:
        return self.tokens.verified

    def issue_token(self, device_id: str | None = None) -> dict:
        return self.tokens.issue(device_id)

    def renew_token(self, old: object) -> dict:
        return self.tokens.renew(old)

    def device_of(self, header: str | None) -> str:
        return self.tokens.device_of(header)

    def fire_once(self, key: str) -> bool:
        """True the first time ``key`` is seen since start or reset."""
        with self.lock:
            if key in self.fired:
                return False
            self.fired.add(key)
            return True

    # ---- carts ---------------------------------------------------------------------------
    def check_add(self, cart: Cart, sku: str, qty: int, flush: bool = False) -> None:
        """Add ``qty`` of ``sku`` to ``cart`` (emptied first with ``flush``) if the product exists
        and stock allows; a refused add leaves the cart as it was."""
        m = cart.merchant
        if sku not in m.products:
            raise SandboxError(Err.PRODUCT_NOT_FOUND, f"Product {sku} was not found")
        wanted = qty if flush else cart.lines.get(sku, 0) + qty
        left = self.stock[m.domain][sku]
        if wanted > left:
            raise SandboxError(Err.NOT_ENOUGH_STOCK, f"Only {left} left of {sku}")
        if flush:
            cart.lines.clear()
        cart.lines[sku] = wanted
        cart.choose_cheapest_if_needed()

    def set_quantity(self, cart: Cart, sku: str, qty: int) -> None:
        """Set the line of ``sku`` to ``qty`` (0 removes it; a product not in the cart yet is
        added) if the product exists and stock allows; a refused change leaves the cart as is."""
        m = cart.merchant
        if sku not in m.products:
            raise SandboxError(Err.PRODUCT_NOT_FOUND, f"Product {sku} was not found")
        if qty == 0:
            cart.lines.pop(sku, None)
        else:
            left = self.stock[m.domain][sku]
            if qty > left:
                raise SandboxError(Err.NOT_ENOUGH_STOCK, f"Only {left} left of {sku}")
            cart.lines[sku] = qty
        cart.choose_cheapest_if_needed()

    def consents_of(self, device: str, m: Merchant) -> dict:
        """The consents a checkout page offers (docs/api.md, "Consents"), and which this device
        signed on this merchant."""
        signed = self.signed.get((device, m.domain), set())
        return {"consents": [{**c, "signed": c["id"] in signed} for c in consents_offered(m)]}

    def sign_consents(self, device: str, m: Merchant, ids: list[str]) -> None:
        known = {c["id"] for c in consents_offered(m)}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise SandboxError(Err.INVALID_INPUT, f"Unknown consent {unknown[0]!r}")
        with self.lock:
            self.signed.setdefault((device, m.domain), set()).update(ids)
            while len(self.signed) > self.max_carts:  # bounded like carts: the oldest go
                del self.signed[next(iter(self.signed))]

    def remove_last(self, cart: Cart) -> dict:
        """The cart after an item "went out of stock meanwhile": its last line is gone, and the
        answer says so with a notice (nothing is placed)."""
        if cart.lines:
            cart.lines.pop(next(reversed(cart.lines)))
            cart.choose_cheapest_if_needed()
        return {**cart.view(), "notice": [CART_ITEMS_REMOVED]}

    def clear(self, cart: Cart) -> None:
        cart.lines.clear()
        cart.choose_cheapest_if_needed()

    def cart_for(self, device: str, m: Merchant, create: bool = True) -> Cart | None:
        """The device's cart at the store (made if ``create``); idle carts are dropped first,
        and the least recently used when there are more than ``max_carts``."""
        now = self.clock()
        carts = self.carts
        while carts:  # the least recently used first: stop at the first one still in use
            key, oldest = next(iter(carts.items()))
            if now - oldest.used < self.cart_idle:
                break
            del carts[key]
        key = (device, m.domain)
        cart = carts.get(key)
        if cart is not None:
            carts.move_to_end(key)
        elif create:
            cart = carts[key] = Cart(m)
            while len(carts) > self.max_carts:
                carts.popitem(last=False)
        if cart is not None:
            cart.used = now
        return cart

    def set_shipping(self, cart: Cart, address: dict) -> None:
        cart.shipping_info = address
        cart.choose_cheapest_if_needed()

    def set_method(self, cart: Cart, method: object) -> None:
        if method is not None and not isinstance(method, str):
            raise SandboxError(Err.INVALID_INPUT, "the shipping method must be a string")
        if method not in {o[0] for o in cart.shipping_options()}:
            if cart.shipping_info is None:
                raise SandboxError(Err.MISSING_PARAMETERS, "Set shipping info before the method")
            raise SandboxError(Err.INVALID_INPUT, f"Unknown shipping method {method!r}")
        cart.shipping_method = method

    # ---- orders --------------------------------------------------------------------------
    def commit(
        self, cart: Cart, billing: dict, payment: Payment, generation: int | None = None
    ) -> dict:
        """Place the order atomically: stock is checked and taken for every line, or for none.
        ``generation``: the state's when the work began; after a reset since, nothing is placed
        (a stalled order must not land in the next test's clean sandbox)."""
        m = cart.merchant
        if payment.decline:
            raise SandboxError(Err.PAYMENT_DECLINED, f"The card was declined: {payment.decline}")
        with self.lock:
            if generation is not None and generation != self.generation:
                raise SandboxError(Err.CART_NOT_FOUND, "The sandbox was reset during this order")
            stock = self.stock[m.domain]
            for sku, qty in cart.lines.items():
                if stock[sku] < qty:
                    raise SandboxError(Err.NOT_ENOUGH_STOCK, f"Only {stock[sku]} left of {sku}")
            for sku, qty in cart.lines.items():
                stock[sku] -= qty
            self.counters[m.domain] += 1
            number = f"{self.counters[m.domain]:09d}"
            now = self.now()
            submitted_at = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
            view = cart.view(status="submitted")
            self.orders.append(
                PlacedOrder(
                    number=number,
                    merchant=m.domain,
                    cart_id=cart.cart_id,
                    items=[{"sku": s, "quantity": q} for s, q in cart.lines.items()],
                    totals={
                        k: view[k]["number"]
                        for k in ("sub_total", "shipping_total", "tax", "cart_discount", "total")
                    },
                    payment=payment,
                    submitted_at=submitted_at,
                )
            )
        view.update(
            platform_order_number=number,
            submitted_at=submitted_at,
            urls={"thank_you_page": f"https://{m.domain}/checkout/onepage/success"},
            shipping_info=with_state_name(view["shipping_info"]),
            billing_info=with_state_name(billing),
            payment_summary=payment.summary(),
        )
        return view
