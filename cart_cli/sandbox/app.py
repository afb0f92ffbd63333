"""The sandbox's HTTP face: Starlette routes for every endpoint of the contract (docs/api.md),
on one port, from the endpoint table the client uses too (cart_cli.wire.endpoints). The
handlers are in ``handlers.py``; the state they work on in ``state.py``."""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.routing import Route

from cart_cli.sandbox import handlers as h
from cart_cli.sandbox.faults import Fault
from cart_cli.sandbox.state import State
from cart_cli.wire import endpoints as ep
from cart_cli.wire import names

# The endpoint table: api() turns a SandboxError into the contract's JSON error answer.
HANDLERS = {
    ep.BROWSER_SESSION: h.api(h.browser_session),
    ep.PUBLIC_KEY: h.api(h.public_key),
    ep.PLACE_ORDER: h.api(h.place_order),
    ep.COMPLETE_ORDER: h.api(h.complete_order),
    ep.GET_CART: h.api(h.get_cart),
    ep.ADD_ITEM: h.api(h.add_item),
    ep.SHIPPING_INFO: h.api(h.shipping_info),
    ep.SHIPPING_METHOD: h.api(h.shipping_method),
    ep.CLEAR_CART: h.api(h.clear_cart),
    ep.SET_QUANTITY: h.api(h.set_quantity),
    ep.GET_CONSENTS: h.api(h.get_consents),
    ep.SET_CONSENTS: h.api(h.set_consents),
    ep.V2_ADD_ITEM: h.api(h.v2_add_item),
    ep.V2_GET_CART: h.api(h.v2_get_cart),
    ep.V2_SHIPPING_METHOD: h.api(h.v2_shipping_method),
    ep.PRODUCT: h.api(h.product),
    ep.PRODUCT_BY_URL: h.api(h.product_by_url),
    ep.SANDBOX_ORDERS: h.list_orders,
    ep.SANDBOX_STOCK: h.stock,
    ep.SANDBOX_RESET: h.reset,
}
ROUTES = [Route(r.path, handler, methods=[r.method]) for r, handler in HANDLERS.items()]


_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


def printable(text: str) -> str:
    """Text as a log line may carry it: anything outside printable ASCII (escapes, line breaks,
    other scripts) as a Python escape, so that a request cannot write to the terminal or forge
    a line. A backslash is doubled, so an escape in the log always means it was escaped."""

    def escape(m: re.Match) -> str:
        return m.group().encode("unicode_escape", "backslashreplace").decode("ascii")

    return _UNPRINTABLE.sub(escape, text.replace("\\", "\\\\"))


class RequestLog:
    """ASGI middleware: one line per request (method, path, status, ms), escaped (printable);
    a client that hung up mid-body is said so instead of a status."""

    def __init__(self, app, log: Callable[[str], None]):
        self.app, self.log = app, log

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start, status = time.perf_counter(), [0]

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            ms = (time.perf_counter() - start) * 1000
            what = "client hung up" if scope.get(h.CLIENT_GONE) else status[0]
            self.log(f"{printable(scope['method'])} {printable(scope['path'])} {what} {ms:.0f}ms")


async def http_error(request: Request, exc: HTTPException):
    """No such route (404 RouteNotFound, as Firmly's UAT names it) or method (405)."""
    resp = h.route_not_found(request, exc.status_code, exc.detail)
    resp.headers.update(getattr(exc, "headers", None) or {})  # 405 names the allowed methods
    return resp


# Browser pages served from this machine may call the sandbox (a developer pointing Firmly's
# drop-in at it): any scheme, loopback host, any port. Other origins with --cors.
LOOPBACK_ORIGINS = r"https?://(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d{1,5})?"


def cors_middleware(origins: tuple[str, ...] = ()) -> Middleware:
    """CORS answers for browsers (docs/api.md, "CORS"): loopback origins and ``origins``
    ("*": any origin, still echoed by name, since Firmly's drop-ins send credentials), every
    method and request header, and the x-firmly-kid header exposed to the page."""
    if "*" in origins:
        pattern = ".*"
    else:
        named = [re.escape(o.rstrip("/")) for o in origins]
        pattern = "|".join([LOOPBACK_ORIGINS, *named])
    return Middleware(
        CORSMiddleware,
        allow_origin_regex=pattern,
        allow_methods=["*"],
        allow_headers=["*"],
        allow_credentials=True,
        expose_headers=[names.H_KID, names.H_REQUEST_ID],
        max_age=600,
    )


def create_app(
    state: State,
    *,
    latency: float = 0.0,
    fault: Fault | None = None,
    log: Callable[[str], None] | None = None,
    running: set[asyncio.Task] | None = None,
    cors: tuple[str, ...] = (),
):
    app = Starlette(
        routes=ROUTES,
        exception_handlers={HTTPException: http_error},
        middleware=[cors_middleware(cors)],
    )
    app.state.ctx = h.Context(
        state=state, latency=latency, fault=fault, running=set() if running is None else running
    )
    return RequestLog(app, log) if log else app


def stderr_log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
