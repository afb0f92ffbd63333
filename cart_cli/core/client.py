"""The Simple Cart API client (requests). Knows the contract; knows nothing of terminals.

Safety rules it keeps (docs/api.md, "Errors" and "Sessions and renewal"):
- place-order and complete-order are sent at most once per call, except after an auth answer
  given before any work (401 renew-and-retry) or when the server rejected the card's key before
  any work (see checkout);
- browser-session and the public key are retried on connection errors and 502/503/504;
- after an order call may have left, a failure without an API error body is OutcomeUnknown;
- a 200 is an order only with a platform_order_number: with a ``notice`` it is CartChanged (not
  placed), with neither OutcomeUnknown;
- a renewal refused for any reason but InvalidAppId forgets the token and starts a new session.

This module holds the API calls and what their answers mean; beneath it: ``transport`` (the HTTP
session: limits, deadlines, no redirects), ``session`` (the device session and its token) and
``urls`` (URL checks, the one ``redact_url``, proxies picked by requests' own rules)."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from cart_cli.core import wirejson
from cart_cli.core.answers import tidy_cart
from cart_cli.core.crypto import PublicKey, jwk_problem
from cart_cli.core.defaults import (
    CONNECT_TIMEOUT,
    ORDER_READ_TIMEOUT,
    READ_TIMEOUT,
)
from cart_cli.core.errors import (
    ApiError,
    CartChanged,
    CartError,
    NetworkError,
    OutcomeUnknown,
    ServerError,
    UsageError,
)
from cart_cli.core.events import ErrorEvent, Event, Garbled, OrderPlaced, StreamTooLarge, decode
from cart_cli.core.guard import is_loopback
from cart_cli.core.session import Session, SessionCalls
from cart_cli.core.tokencache import TokenCache
from cart_cli.core.transport import (
    MAX_BODY,
    MAX_STREAM,
    Answer,
    Transport,
    redact_body,
    redact_headers,
)
from cart_cli.core.urls import Endpoints, environ_proxies, redact_url
from cart_cli.wire import endpoints as ep
from cart_cli.wire import names

log = logging.getLogger("cart_cli.http")


def _describe_body(resp, text: str, problem: str = "not JSON") -> str:
    ctype = resp.headers.get("content-type", "")
    if not text.strip():
        return "an empty body"
    if "html" in ctype or text.lstrip().startswith("<"):
        return "an HTML page"
    if problem != "not JSON":
        return f"JSON that cannot be read ({problem})"
    return "a body that is not an API error"


@dataclass
class Client(SessionCalls):
    endpoints: Endpoints
    timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT)
    ca_bundle: str | None = None
    token_cache: TokenCache | None = None
    extra_headers: dict = field(default_factory=dict)
    pool_size: int = 10
    # The read timeout of an order call that answers only when all is done (place-order without
    # SSE, complete-order): a slow merchant takes a minute or more.
    order_read_timeout: float = ORDER_READ_TIMEOUT
    # The run's environment variables (proxies, CA bundle) and clock (seconds since the epoch):
    # handed in (cli.env.Environment), never read from the process.
    environ: Mapping[str, str] = field(default_factory=dict)
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self.endpoints = self.endpoints.checked()
        self.local = is_loopback(urlsplit(self.endpoints.api_url).hostname or "")
        if self.ca_bundle and os.path.isdir(self.ca_bundle):
            raise UsageError(
                f"--ca-bundle {self.ca_bundle} is a folder: give the file of PEM CA certificates "
                "(e.g. /etc/ssl/certs/ca-certificates.crt or your private CA's .pem)"
            )
        if self.ca_bundle and not os.path.isfile(self.ca_bundle):
            raise UsageError(f"--ca-bundle {self.ca_bundle}: no such file")
        # TLS is never off: --ca-bundle, else the environment's bundle, else the system's.
        env_bundle = self.environ.get("REQUESTS_CA_BUNDLE") or self.environ.get("CURL_CA_BUNDLE")
        self.verify = self.ca_bundle or env_bundle or True
        self.transport = Transport(
            timeout=self.timeout,
            # --timeout bounds each whole call; an order call keeps its longer deadline
            total=self.timeout[1],
            order_total=max(self.order_read_timeout, ORDER_READ_TIMEOUT),
            verify=self.verify,
            proxies=environ_proxies(
                self.environ, self.endpoints.api_url, self.endpoints.payment_url
            ),
            pool_size=self.pool_size,
            retried=(self.session_url, self.key_url),
        )
        self.http = self.transport.http
        self._lock = threading.Lock()
        self._session: Session | None = None
        self._session_failed: tuple[float, NetworkError] | None = None  # (when, the error)
        # How many new sessions (new devices) this client has started; a renewal keeps the device.
        # A cart belongs to a device: the cart flow checks this did not change while it built one.
        self.new_sessions = 0
        self._cart_locks: dict[str, threading.Lock] = {}
        # Merchants whose last cart-flow order ended with an unknown outcome -> its request id:
        # its complete-order may still be running, so this device's cart there is not touched.
        self._carts_unsettled: dict[str, str | None] = {}

    def cart_lock(self, domain: str) -> threading.Lock:
        """The device has one cart per merchant: the cart flow holds this lock from emptying
        the cart to complete-order, so concurrent orders (batch) cannot mix their carts."""
        with self._lock:
            return self._cart_locks.setdefault(domain, threading.Lock())

    def cart_unsettled(self, domain: str) -> tuple[bool, str | None]:
        """(True, request id) if a cart-flow order on ``domain`` ended with an unknown outcome."""
        with self._lock:
            return domain in self._carts_unsettled, self._carts_unsettled.get(domain)

    def mark_cart_unsettled(self, domain: str, request_id: str | None) -> None:
        with self._lock:
            self._carts_unsettled[domain] = request_id

    # ---- URLs (every one from the endpoint table) ----------------------------------------
    def url(self, route: ep.Route, **params: object) -> str:
        base = self.endpoints.api_url if route.host == ep.API else self.endpoints.payment_url
        return route.url(base, **params)

    @property
    def session_url(self) -> str:
        return self.url(ep.BROWSER_SESSION)

    @property
    def key_url(self) -> str:
        return self.url(ep.PUBLIC_KEY)

    def order_url(self, domain: str, *, sse: bool = False) -> str:
        """place-order's URL as sent (with ``?sse=true`` when streaming)."""
        url = self.url(ep.PLACE_ORDER, domain=domain)
        return url + "?sse=true" if sse else url

    def close(self) -> None:
        self.transport.close()

    # ---- the wire ----------------------------------------------------------------------------
    def _send(
        self,
        method: str,
        url: str,
        *,
        token: str | None = None,
        body=None,
        params=None,
        app_id: bool = False,
        placing: str | None = None,
        stream: bool = False,
        long_read: bool = False,
        on_request: Callable[[str], None] | None = None,
    ):
        """One HTTP exchange. Returns (response, request id); response is streamed.

        ``placing``: the name of the order call (place-order, complete-order) when this is one;
        ``stream``: ask for server-sent events; ``long_read``: wait up to order_read_timeout;
        ``on_request``: told the request id before the request is sent (an order call's, so
        that an order interrupted in flight can still be looked up by it)."""
        rid = uuid.uuid4().hex
        if on_request is not None:
            on_request(rid)
        # The request id is the client's own: the deadline of the call is found by it.
        headers = {k: v for k, v in self.extra_headers.items() if k.lower() != names.H_REQUEST_ID}
        headers[names.H_REQUEST_ID] = rid
        if stream:
            headers[names.H_ACCEPT] = names.SSE_MEDIA_TYPE
        if token is not None:
            headers[names.H_AUTH] = token
        if app_id:
            headers[names.H_APP_ID] = self.endpoints.app_id
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "-> %s %s params=%s headers=%s body=%s",
                method,
                redact_url(url),
                params,
                redact_headers(headers),
                json.dumps(redact_body(body)),
            )
        started = time.perf_counter()
        answer = self.transport.send(
            method,
            url,
            rid=rid,
            headers=headers,
            body=body,
            params=params,
            placing=placing,
            long_read=self.order_read_timeout if long_read else None,
            stream=stream,
        )
        log.debug(
            "<- %s %s %s in %.0f ms [%s]",
            answer.status_code,
            method,
            urlsplit(url).path,
            (time.perf_counter() - started) * 1000,
            answer.headers.get("content-type"),
        )
        return answer, rid

    def _read_json(self, resp: Answer, rid: str, *, placing: str | None = None):
        """(parsed JSON, or None and what the body is in a few words). Bounded in size and
        time; the answer is closed."""
        raw = resp.read(MAX_BODY)
        try:
            return wirejson.loads(raw), "a body that is not an API error"
        except wirejson.Unreadable as e:
            return None, _describe_body(resp, raw[:4096].decode("utf-8", "replace"), str(e))

    def _error(self, resp, rid: str, what: str, *, placing: str | None = None) -> CartError:
        """The CartError for a non-200 answer."""
        data, body = self._read_json(resp, rid, placing=placing)
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            desc = data.get("description") or data.get("message") or ""
            return ApiError(
                data["error"],
                str(desc),
                status=resp.status_code,
                request_id=rid,
                sandbox=self.local,
            )
        if placing and resp.status_code >= 500:
            return OutcomeUnknown(
                f"{placing} got HTTP {resp.status_code} with {body} (no API error), "
                "so a gateway may already have passed the order on",
                request_id=rid,
            )
        return ServerError(
            f"{what} failed: HTTP {resp.status_code} with {body}",
            request_id=rid,
            hint="The server or a proxy in front of it failed; nothing was ordered.",
        )

    def _authed(self, method: str, url: str, *, body=None, params=None, **send):
        """An authenticated request; a 401 auth error renews once and retries once."""
        placing = send.get("placing")
        token = self.token()
        resp, rid = self._send(method, url, token=token, body=body, params=params, **send)
        if resp.status_code == 401:
            err = self._error(resp, rid, "request", placing=placing)
            if not (isinstance(err, ApiError) and err.code in names.AUTH_ERRORS):
                raise err
            log.debug("token refused (%s); renewing once", err.code)
            token = self._refresh_after_401(token)
            resp, rid = self._send(method, url, token=token, body=body, params=params, **send)
            if resp.status_code == 401:
                err = self._error(resp, rid, "request", placing=placing)
                if isinstance(err, ApiError):
                    err.hint = "The token was refused even after renewal; check the app id."
                raise err
        return resp, rid

    # ---- public key ---------------------------------------------------------------------------
    def public_key(self) -> PublicKey:
        resp, rid = self._send("GET", self.key_url)
        if resp.status_code != 200:
            raise self._error(resp, rid, "fetching the public key")
        data, _ = self._read_json(resp, rid)
        if not (
            isinstance(data, dict) and data.get("kty") == "RSA" and data.get("n") and data.get("e")
        ):
            raise ServerError("the public key answer is not an RSA JWK", request_id=rid)
        if problem := jwk_problem(data):
            raise ServerError(
                f"the public key answer is not a usable RSA key: {problem}; nothing was sent",
                request_id=rid,
            )
        # A key without a kid is the current key: the JWE then goes without one (docs/api.md,
        # "The encrypted card"), as Firmly's own browser code does.
        kid = resp.headers.get(names.H_KID) or data.get("kid") or ""
        if not isinstance(kid, str):
            raise ServerError("the public key's kid is not text", request_id=rid)
        return PublicKey(kid=kid, jwk=data)

    # ---- the order calls -----------------------------------------------------------------------
    def place_order(
        self,
        domain: str,
        body: dict,
        *,
        sse: bool = True,
        on_event: Callable[[Event], None] = lambda e: None,
        total_items: int | None = None,
        on_request: Callable[[str], None] | None = None,
    ) -> tuple[dict, str]:
        """Send place-order once. Returns (order, request id) or raises a CartError.
        ``on_request(request_id)`` is called before each attempt leaves."""
        resp, rid = self._order_call(ep.PLACE_ORDER, domain, body, sse=sse, on_request=on_request)
        if not resp.headers.get("content-type", "").startswith(names.SSE_MEDIA_TYPE):
            order = self._order_answer(resp, rid, ep.PLACE_ORDER.name)
            on_event(OrderPlaced(order))
            return order, rid
        return self._follow_stream(resp, rid, on_event, total_items), rid

    def complete_order(
        self, domain: str, body: dict, *, on_request: Callable[[str], None] | None = None
    ) -> tuple[dict, str]:
        """Send complete-order once (the cart flow's last call): (order, request id)."""
        resp, rid = self._order_call(ep.COMPLETE_ORDER, domain, body, on_request=on_request)
        return self._order_answer(resp, rid, ep.COMPLETE_ORDER.name), rid

    def _order_call(
        self,
        route: ep.Route,
        domain: str,
        body: dict,
        *,
        sse: bool = False,
        on_request: Callable[[str], None] | None = None,
    ):
        """Send an order call once: (a 200 response, request id), or the error it answered.
        Without a stream the answer comes only when all is done: hence the long read."""
        resp, rid = self._authed(
            route.method,
            self.url(route, domain=domain),
            body=body,
            params={"sse": "true"} if sse else None,
            placing=route.name,
            stream=sse,
            long_read=not sse,
            on_request=on_request,
        )
        if resp.status_code != 200:
            raise self._error(resp, rid, route.name, placing=route.name)
        return resp, rid

    def _order_answer(self, resp, rid: str, what: str) -> dict:
        """The order of a 200 JSON answer to an order call, or the error it really is."""
        data, body = self._read_json(resp, rid, placing=what)
        if not isinstance(data, dict):
            raise OutcomeUnknown(
                f"{what} answered 200 with {body}, not an order",
                request_id=rid,
            )
        outcome = settle(data, rid, what)
        if isinstance(outcome, CartError):
            raise outcome
        return outcome

    def _follow_stream(self, resp: Answer, rid, on_event, total_items) -> dict:
        """Follow the events to the end of the stream, which ends right after the terminal event
        (order-placed or error). Reading to the end hands a clean connection back to the pool;
        once the outcome is known, a failure while draining changes nothing. Each event renews
        the call's deadline; comments do not."""
        outcome: dict | CartError | None = None
        try:
            for ev in decode(resp.chunks(MAX_STREAM), total_items):
                resp.renew()
                if outcome is not None:
                    continue  # after the terminal event: drain only
                outcome = _terminal(ev, rid, self.local)
                if not isinstance(outcome, CartError):
                    on_event(ev)
        except CartError:  # the transport's, for an order call: OutcomeUnknown
            if outcome is None:
                raise
        except StreamTooLarge as e:
            if outcome is None:
                raise OutcomeUnknown(f"the event stream broke off ({e})", request_id=rid) from None
        finally:
            resp.close()
        if outcome is None:
            raise OutcomeUnknown(
                "the event stream ended before the order was confirmed", request_id=rid
            )
        if isinstance(outcome, CartError):
            raise outcome
        return outcome

    # ---- the cart calls (docs/api.md, "Two flows") -----------------------------------------
    def _cart_call(self, route: ep.Route, domain: str, body=None, params=None, **path) -> dict:
        resp, rid = self._authed(
            route.method, self.url(route, domain=domain, **path), body=body, params=params
        )
        if resp.status_code != 200:
            raise self._error(resp, rid, route.name)
        data, body = self._read_json(resp, rid)
        if not isinstance(data, dict):
            raise ServerError(
                f"{route.name} answered 200 with {body}, not a cart",
                request_id=rid,
            )
        return data if route in (ep.PRODUCT, ep.PRODUCT_BY_URL) else tidy_cart(data)

    def cart(self, domain: str) -> dict:
        """The device's cart on ``domain`` (empty if there is none)."""
        return self._cart_call(ep.GET_CART, domain)

    def add_item(self, domain: str, sku: str, quantity: int, *, flush: bool = False) -> dict:
        params = {"flush_cart": "true"} if flush else None
        return self._cart_call(ep.ADD_ITEM, domain, params=params, sku=sku, qty=quantity)

    def set_shipping_info(self, domain: str, address: dict) -> dict:
        return self._cart_call(ep.SHIPPING_INFO, domain, body=address)

    def set_shipping_method(self, domain: str, sku: str) -> dict:
        return self._cart_call(ep.SHIPPING_METHOD, domain, body={"shipping_method": sku})

    def clear_cart(self, domain: str) -> dict:
        return self._cart_call(ep.CLEAR_CART, domain)

    def set_quantity(self, domain: str, sku: str, quantity: int) -> dict:
        """Set a line's quantity (0 removes it), as Firmly's drop-ins do."""
        body = {"quantity": quantity, "variant_handles": []}
        return self._cart_call(ep.SET_QUANTITY, domain, body=body, sku=sku)

    def product(self, domain: str, handle: str) -> dict:
        """A product by its handle (or a variant's sku), with its variants."""
        return self._cart_call(ep.PRODUCT, domain, handle=handle)

    def product_by_url(self, url: str) -> dict:
        """A product by its page's URL."""
        return self._cart_call(ep.PRODUCT_BY_URL, "", params={"url": url})


def settle(data: dict, rid: str | None, what: str) -> dict | CartError:
    """What a 200 order answer (or order-placed data) means: the order if it has an order
    number; CartChanged (not placed) if it carries a ``notice``; else OutcomeUnknown."""
    number = data.get(names.ORDER_NUMBER)
    if isinstance(number, bool) or not isinstance(number, (str, int, type(None))):
        return OutcomeUnknown(
            f"{what} answered with an order number that cannot be read (a "
            f"{type(number).__name__}), so it is not known whether the order was placed",
            request_id=rid,
        )
    if number not in (None, ""):
        return data
    notice = data.get(names.NOTICE)
    if isinstance(notice, str):
        notice = [notice]
    if isinstance(notice, list) and notice:
        return CartChanged([str(n) for n in notice], what=what, request_id=rid)
    return OutcomeUnknown(
        f"{what} answered without an order number or a notice, so it is not known whether the "
        "order was placed",
        request_id=rid,
    )


def _terminal(ev: Event, rid: str, sandbox: bool = False) -> dict | CartError | None:
    """The outcome an event settles: the order, the error, or None for a progress event."""
    if isinstance(ev, OrderPlaced):
        return settle(ev.order, rid, ep.PLACE_ORDER.name)
    if isinstance(ev, ErrorEvent):
        name = str(ev.error.get("error") or "ErrorUnknown")
        desc = ev.error.get("description") or ev.error.get("message") or ""
        return ApiError(
            name,
            str(desc),
            status=ev.error.get("code"),
            request_id=rid,
            during_work=True,
            sandbox=sandbox,
        )
    if isinstance(ev, Garbled) and ev.event == names.ORDER_PLACED:
        return OutcomeUnknown(
            "the server announced order-placed but its data could not be read", request_id=rid
        )
    if isinstance(ev, Garbled) and ev.event == names.ERROR:
        return ApiError(
            "ErrorUnknown",
            "the server reported an unreadable error",
            request_id=rid,
            during_work=True,
        )
    return None
