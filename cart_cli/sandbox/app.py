"""The sandbox's HTTP face: Starlette routes for every endpoint of the contract (docs/api.md),
on one port, from the endpoint table the client uses too (cart_cli.wire.endpoints). The
handlers are in ``handlers.py``; the state they work on in ``state.py``."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from cart_cli.sandbox import handlers as h
from cart_cli.sandbox.errors import SandboxError
from cart_cli.sandbox.faults import Fault
from cart_cli.sandbox.state import State
from cart_cli.wire import endpoints as ep
from cart_cli.wire.names import Err

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
    ep.SANDBOX_ORDERS: h.list_orders,
    ep.SANDBOX_STOCK: h.stock,
    ep.SANDBOX_RESET: h.reset,
}
ROUTES = [Route(r.path, handler, methods=[r.method]) for r, handler in HANDLERS.items()]


class RequestLog:
    """ASGI middleware: one line per request (method, path, status, ms)."""

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
            self.log(f"{scope['method']} {scope['path']} {status[0]} {ms:.0f}ms")


async def http_error(request: Request, exc: HTTPException):
    name = Err.METHOD_NOT_ALLOWED if exc.status_code == 405 else Err.NOT_FOUND
    e = SandboxError(name, f"{request.method} {request.url.path}: {exc.detail}")
    headers = getattr(exc, "headers", None)  # 405 names the allowed methods
    return JSONResponse(
        {**e.body(), "code": exc.status_code}, status_code=exc.status_code, headers=headers
    )


def create_app(
    state: State,
    *,
    latency: float = 0.0,
    fault: Fault | None = None,
    log: Callable[[str], None] | None = None,
    running: set[asyncio.Task] | None = None,
):
    app = Starlette(routes=ROUTES, exception_handlers={HTTPException: http_error})
    app.state.ctx = h.Context(
        state=state, latency=latency, fault=fault, running=set() if running is None else running
    )
    return RequestLog(app, log) if log else app


def stderr_log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
