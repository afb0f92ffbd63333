"""The sandbox's state and rules: keys, tokens, carts, pricing, stock and orders.

No HTTP here: ``app.py`` maps requests onto these methods. Money is integer cents throughout.
"""

from __future__ import annotations

import base64
import collections
import ctypes
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal

from cart_cli.sandbox.catalog import Merchant
from cart_cli.wire import cards, names
from cart_cli.wire.errors import spec
from cart_cli.wire.money import mul_rate_half_up, to_wire
from cart_cli.wire.names import Err

TAX_RATES = {"WA": Decimal("0.1025"), "CA": Decimal("0.0725"), "NY": Decimal("0.08875")}
STATE_NAMES = {"washington": "WA", "california": "CA", "new york": "NY"}
STATE_OF_CODE = {code: name.title() for name, code in STATE_NAMES.items()}
FLAT_RATE = ("flatrate_flatrate", "Flat Rate (5-7 days)", 500)
FREE_SHIPPING = ("freeshipping_freeshipping", "Free Shipping", 0)
FREE_SHIPPING_FROM = 10_000
RENEW_WINDOW = 7 * 24 * 3600
KEEP_ORDERS = 10_000  # placed orders listed by /__sandbox/orders; older ones are dropped
VERIFIED_TOKENS = 10_000  # bound on the verified-token -> device cache
CART_ITEMS_REMOVED = "CART_ITEMS_REMOVED"


def _give_back_memory() -> None:
    """Return freed heap pages to the OS (glibc keeps them otherwise); a no-op elsewhere."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return
    trim(0)


class SandboxError(Exception):
    """An API error answer: name, description, and the status of the contract's table."""

    def __init__(self, name: str, description: str, *, use_message: bool = False):
        super().__init__(description)
        self.name = name
        self.description = description
        self.status = spec(name).status
        self.use_message = use_message  # browser-session errors say `message`

    def body(self) -> dict:
        key = "message" if self.use_message else "description"
        return {"code": self.status, "error": self.name, key: self.description}


def token_expired() -> SandboxError:
    return SandboxError(
        Err.TOKEN_EXPIRED, "The token expired more than a week ago", use_message=True
    )


def with_state_name(address: dict) -> dict:
    """An address as order answers carry it: with ``state_name`` when the state is known."""
    state = str(address.get("state_or_province", "")).strip()
    code = STATE_NAMES.get(state.lower(), state.upper())
    name = STATE_OF_CODE.get(code)
    return {**address, "state_name": name} if name else dict(address)


def _b64url_uint(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class _Key:
    private_key: object
    kid: str
    jwk: dict
    pem: str
    rsa_pem: str


def _new_key() -> _Key:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub = key.public_key()
    numbers = pub.public_numbers()
    kid = "sbx-" + secrets.token_hex(8)
    return _Key(
        private_key=key,
        kid=kid,
        jwk={
            "kid": kid,
            "kty": "RSA",
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
            "use": "enc",
            "alg": names.JWE_ALG,
        },
        pem=pub.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode(),
        rsa_pem=pub.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
        ).decode(),
    )


class KeyRing:
    """The RSA key pair for card encryption. Parsed once; rotation replaces it.

    The key is generated in a background thread (OpenSSL releases the GIL), so a sandbox
    starts serving while it is made; the first use of the key waits for it."""

    def __init__(self) -> None:
        self.rotate()

    def rotate(self) -> None:
        box: list[_Key] = []
        # Not a daemon: an interpreter that exits while OpenSSL is making the key would kill
        # the thread inside C code ('FATAL: exception not rethrown', exit 134); exit waits for
        # the key instead (a fraction of a second).
        thread = threading.Thread(target=lambda: box.append(_new_key()), daemon=False)
        thread.start()
        self._pending = (thread, box)

    def _current(self) -> _Key:
        pending = self._pending
        if pending is not None:
            thread, box = pending
            thread.join()
            if not box:  # the thread failed: make the key here, so the error is raised here
                box.append(_new_key())
            self._key = box[0]
            if self._pending is pending:
                self._pending = None
        return self._key

    @property
    def private_key(self):
        return self._current().private_key

    @property
    def kid(self) -> str:
        return self._current().kid

    @property
    def jwk(self) -> dict:
        return self._current().jwk

    @property
    def pem(self) -> str:
        return self._current().pem

    @property
    def rsa_pem(self) -> str:
        return self._current().rsa_pem

    def decrypt_card(self, token: object) -> dict:
        """The card payload (docs/api.md, "The encrypted card"), checked and normalized to
        number, name (maybe absent), verification_value, month, year. As lenient as Firmly's own
        browser code needs: no ``kid`` means the current key; exp_month/exp_year stand for
        month/year; no name. Errors name the problem, never a value."""
        from jose import jwe
        from jose.exceptions import JOSEError

        if not isinstance(token, str) or token.count(".") != 4:
            raise SandboxError(Err.INVALID_INPUT, "encrypted_card is not a compact JWE (5 parts)")
        try:
            header = jwe.get_unverified_header(token)
        except JOSEError:
            raise SandboxError(Err.INVALID_INPUT, "encrypted_card has a malformed header") from None
        if header.get("alg") != names.JWE_ALG or header.get("enc") != names.JWE_ENC:
            raise SandboxError(
                Err.INVALID_INPUT,
                f"encrypted_card must use alg {names.JWE_ALG} and enc {names.JWE_ENC}",
            )
        if "zip" in header:
            raise SandboxError(Err.INVALID_INPUT, "encrypted_card must not be compressed (zip)")
        key = self._current()
        if header.get("kid", key.kid) != key.kid:
            raise SandboxError(
                Err.INVALID_INPUT,
                "encrypted_card was made with an unknown key (kid); fetch the key",
            )
        try:
            plain = jwe.decrypt(token, key.private_key)
        except JOSEError:
            plain = None
        if not plain:
            raise SandboxError(Err.INVALID_INPUT, "encrypted_card could not be decrypted")
        try:
            card = json.loads(plain)
        except ValueError:
            card = None
        finally:
            del plain
        try:
            return cards.check_payload(card)
        except ValueError as e:
            raise SandboxError(Err.INVALID_INPUT, str(e)) from None


@dataclass
class Payment:
    """What the sandbox keeps of a card: never the number or CVV."""

    card_type: str
    last_four: str
    month: int
    year: int
    decline: str | None
    holder: str | None = None
    bin: str = ""

    @classmethod
    def from_card(cls, card: dict) -> Payment:
        number = card["number"]
        month, year = int(card["month"]), int(card["year"])
        test = cards.BY_NUMBER.get(number)
        now = datetime.now(timezone.utc)
        decline = test.decline if test else None
        if decline is None and cards.expired(month, year, now.year, now.month):
            decline = "expired card"
        return cls(
            card_type=test.brand if test else cards.brand(number),
            last_four=number[-4:],
            month=month,
            year=year,
            decline=decline,
            holder=card.get("name") or None,
            bin=number[:6],
        )

    def summary(self) -> dict:
        """As real answers have it: with the holder's name and the BIN."""
        summary = {
            "payment_type": "CreditCard",
            "card_type": self.card_type,
            "last_four": self.last_four,
            "month": self.month,
            "year": self.year,
            "bin": self.bin,
        }
        if self.holder:
            summary["card_holder_name"] = self.holder
        return summary


@dataclass
class Cart:
    merchant: Merchant
    cart_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    lines: dict[str, int] = field(default_factory=dict)  # sku -> quantity, in order added
    shipping_info: dict | None = None
    shipping_method: str | None = None
    line_ids: dict[str, str] = field(default_factory=dict)  # sku -> its line id, made once

    def sub_total(self) -> int:
        return sum(self.merchant.products[s].price * q for s, q in self.lines.items())

    def shipping_options(self, sub_total: int | None = None) -> list[tuple[str, str, int]]:
        if self.shipping_info is None:
            return []
        opts = [FLAT_RATE]
        if (self.sub_total() if sub_total is None else sub_total) >= FREE_SHIPPING_FROM:
            opts.append(FREE_SHIPPING)
        return opts

    def line_id(self, sku: str) -> str:
        line_id = self.line_ids.get(sku)
        if line_id is None:
            line_id = self.line_ids[sku] = f"{self.cart_id}-{len(self.line_ids) + 1}"
        return line_id

    def choose_cheapest_if_needed(self) -> None:
        opts = self.shipping_options()
        if opts and self.shipping_method not in {o[0] for o in opts}:
            self.shipping_method = min(opts, key=lambda o: o[2])[0]

    def shipping_total(self, options: list[tuple[str, str, int]] | None = None) -> int:
        for sku, _, price in self.shipping_options() if options is None else options:
            if sku == self.shipping_method:
                return price
        return 0

    def tax(self, sub_total: int | None = None) -> int:
        if not self.shipping_info:
            return 0
        state = str(self.shipping_info.get("state_or_province", "")).strip()
        code = STATE_NAMES.get(state.lower(), state.upper())
        rate = TAX_RATES.get(code)
        if not rate:
            return 0
        return mul_rate_half_up(self.sub_total() if sub_total is None else sub_total, rate)

    def view(self, status: str = "active") -> dict:
        m, cur = self.merchant, self.merchant.currency
        sub = self.sub_total()
        opts = self.shipping_options(sub)
        ship, tax, discount = self.shipping_total(opts), self.tax(sub), 0
        lines = []
        for sku, qty in self.lines.items():
            p = m.products[sku]
            lines.append(
                {
                    "line_item_id": self.line_id(sku),
                    "sku": sku,
                    "base_sku": sku.split("-")[0],
                    "description": p.description,
                    "quantity": qty,
                    "price": to_wire(p.price, cur),
                    "line_price": to_wire(p.price * qty, cur),
                    "image": {"url": f"https://{m.domain}/media/catalog/{sku}.jpg"},
                }
            )
        view = {
            "cart_id": self.cart_id,
            "cart_status": status,
            "display_name": m.display_name,
            "platform_id": m.platform_id,
            "shop_id": m.domain,
            "line_items": lines,
            "sub_total": to_wire(sub, cur),
            "shipping_total": to_wire(ship, cur),
            "tax": to_wire(tax, cur),
            "cart_discount": to_wire(discount, cur),
            "total": to_wire(sub + ship + tax - discount, cur),
            "payment_method_options": [{"type": "CreditCard", "wallet": "user"}],
        }
        if self.shipping_info is not None:
            view["shipping_info"] = self.shipping_info
            view["shipping_method"] = next(
                (
                    {"sku": s, "description": d, "price": to_wire(p, cur)}
                    for s, d, p in opts
                    if s == self.shipping_method
                ),
                None,
            )
            view["shipping_method_options"] = [
                {"sku": s, "description": d, "price": to_wire(p, cur)} for s, d, p in opts
            ]
        return view


@dataclass(slots=True)
class PlacedOrder:
    number: str
    merchant: str
    cart_id: str
    items: list[dict]
    totals: dict
    payment: Payment
    submitted_at: str

    def record(self) -> dict:
        return {
            "order_number": self.number,
            "merchant": self.merchant,
            "cart_id": self.cart_id,
            "items": self.items,
            "totals": self.totals,
            "card_type": self.payment.card_type,
            "last_four": self.payment.last_four,
            "submitted_at": self.submitted_at,
        }


class State:
    """Everything the sandbox remembers. Mutations take the lock; none of them awaits."""

    def __init__(
        self,
        merchants: dict[str, Merchant],
        token_ttl: int = 3600,
        app_ids: frozenset[str] | None = None,
        keep_orders: int = KEEP_ORDERS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.merchants = merchants
        self.clock = clock  # seconds since the epoch; tests move it instead of sleeping
        self.token_ttl = token_ttl
        self.app_ids = app_ids  # None: any non-empty application id is valid
        self.keep_orders = keep_orders
        self.keys = KeyRing()
        self.secret = secrets.token_bytes(32)
        self.lock = threading.Lock()
        self.carts: dict[tuple[str, str], Cart] = {}
        self.orders: collections.deque[PlacedOrder] = collections.deque()
        self.verified: dict[str, tuple[str, int]] = {}  # token -> (device, exp), all checked
        self._clear()

    def reset(self) -> None:
        """Back to the catalog's stock, no carts, no orders; the memory they held goes back."""
        self._clear()
        _give_back_memory()

    def _clear(self) -> None:
        with self.lock:
            old = (self.carts, self.orders, self.verified)
            self.stock = {
                d: {s: p.stock for s, p in m.products.items()} for d, m in self.merchants.items()
            }
            self.carts = {}
            # The oldest orders drop out of the listing past the bound; numbering and stock
            # do not depend on what is kept.
            self.orders = collections.deque(maxlen=self.keep_orders)
            self.verified = {}
            self.counters = dict.fromkeys(self.merchants, 0)
            self.fired: set[str] = set()  # one-shot faults that already happened
            self.generation = getattr(self, "generation", 0) + 1  # work begun before is void
        for container in old:
            container.clear()

    # ---- merchants and auth -------------------------------------------------------------
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

    def issue_token(self, device_id: str | None = None) -> dict:
        from jose import jwt

        now = int(self.clock())
        device_created = device_id is None
        device_id = device_id or str(uuid.uuid4())
        exp = now + self.token_ttl
        claims = {"device_id": device_id, "iat": now, "exp": exp, "jti": secrets.token_hex(8)}
        token = jwt.encode(claims, self.secret, algorithm="HS256")
        return {
            "device_created": device_created,
            "access_token": token,
            "expires_in": self.token_ttl,
            "expires": exp,
            "device_id": device_id,
        }

    def renew_token(self, old: object) -> dict:
        from jose import jwt
        from jose.exceptions import JOSEError

        try:
            claims = jwt.decode(
                str(old), self.secret, algorithms=["HS256"], options={"verify_exp": False}
            )
        except JOSEError:
            raise SandboxError(
                Err.INVALID_TOKEN, "The token to renew is invalid", use_message=True
            ) from None
        if int(claims.get("exp", 0)) < self.clock() - RENEW_WINDOW:
            raise token_expired()
        return self.issue_token(claims["device_id"])

    def device_of(self, header: str | None) -> str:
        from jose import jwt
        from jose.exceptions import JOSEError

        if not header:
            raise SandboxError(Err.MISSING_AUTH, "The x-firmly-authorization header is missing")
        token = header[7:] if header.lower().startswith("bearer ") else header
        known = self.verified.get(token)
        if known is None:
            try:
                claims = jwt.decode(
                    token, self.secret, algorithms=["HS256"], options={"verify_exp": False}
                )
            except JOSEError:
                try:
                    jwt.get_unverified_claims(token)
                except JOSEError:
                    raise SandboxError(Err.INVALID_TOKEN, "The access token is malformed") from None
                raise SandboxError(
                    Err.UNAUTHORIZED, "The access token was not issued by this server"
                ) from None
            if not isinstance(claims.get("exp"), int):
                raise SandboxError(Err.INVALID_TOKEN, "The access token has expired")
            if not isinstance(claims.get("device_id"), str):
                raise SandboxError(Err.INVALID_TOKEN, "The access token has no device")
            if len(self.verified) >= VERIFIED_TOKENS:
                self.verified.clear()
            known = self.verified[token] = (claims["device_id"], claims["exp"])
        device, exp = known
        if exp < self.clock():  # checked on every use: a cached token expires all the same
            raise SandboxError(Err.INVALID_TOKEN, "The access token has expired")
        return device

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
        key = (device, m.domain)
        cart = self.carts.get(key)
        if cart is None and create:
            cart = self.carts[key] = Cart(m)
        return cart

    def set_shipping(self, cart: Cart, address: dict) -> None:
        cart.shipping_info = address
        cart.choose_cheapest_if_needed()

    def set_method(self, cart: Cart, method: object) -> None:
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
            now = datetime.now(timezone.utc)
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
