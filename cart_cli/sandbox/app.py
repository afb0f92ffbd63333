"""The sandbox's HTTP face: Starlette routes for every endpoint of the contract (docs/api.md),
on one port, from the endpoint table the client uses too (cart_cli.wire.endpoints)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator, Callable

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from cart_cli.sandbox.faults import Fault, parse_fault
from cart_cli.sandbox.state import Cart, Payment, SandboxError, State, token_expired
from cart_cli.wire import endpoints as ep
from cart_cli.wire import names
from cart_cli.wire.models import Address, Item
from cart_cli.wire.names import Err, FaultName

MAX_BODY = 1 << 20
HTML_500 = "<html><head><title>500 Internal Server Error</title></head><body>oops</body></html>"


def _sse(name: str, data: str, event_id: int | None = None) -> bytes:
    lines = [f"event: {name}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines += [f"data: {part}" for part in data.split("\n")]
    return ("\n".join(lines) + "\n\n").encode()


def _pydantic_problem(e: ValidationError, prefix: str) -> str:
    first = e.errors(include_input=False, include_url=False)[0]
    loc = ".".join(str(p) for p in (prefix, *first["loc"]) if p != "")
    return f"{loc}: {first['msg']}"


def validate_address(obj: object, field: str) -> dict:
    """A checked address. Lenient like the real service: members it does not know are ignored,
    and a blank address2 or company counts as absent (Firmly's own code sends address2 " ")."""
    if obj is None:
        raise SandboxError(Err.INVALID_INPUT, f"{field} is required")
    if isinstance(obj, dict):
        obj = {
            k: v
            for k, v in obj.items()
            if k in Address.model_fields
            and not (k in ("address2", "company") and isinstance(v, str) and not v.strip())
        }
    try:
        return Address.model_validate(obj).model_dump(exclude_none=True)
    except ValidationError as e:
        raise SandboxError(Err.INVALID_INPUT, _pydantic_problem(e, field)) from None


def validate_items(obj: object) -> list[Item]:
    if not isinstance(obj, list) or not obj:
        raise SandboxError(Err.INVALID_INPUT, "items must be a non-empty list")
    items = []
    for i, raw in enumerate(obj):
        try:
            items.append(Item.model_validate(raw))
        except ValidationError as e:
            raise SandboxError(Err.INVALID_INPUT, _pydantic_problem(e, f"items.{i}")) from None
    return items


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


def create_app(
    state: State,
    *,
    latency: float = 0.0,
    fault: Fault | None = None,
    log: Callable[[str], None] | None = None,
    running: set | None = None,
):
    async def pause() -> None:
        if latency:
            await asyncio.sleep(latency)

    def fault_of(request: Request) -> Fault | None:
        header = request.headers.get(names.H_FAULT)
        if header:
            try:
                return parse_fault(header)
            except ValueError as e:
                raise SandboxError(Err.INVALID_INPUT, str(e)) from None
        return fault

    def device_of(request: Request, f: Fault | None) -> str:
        device = state.device_of(request.headers.get(names.H_AUTH))
        if f and f.name == FaultName.TOKEN_EXPIRED_ONCE and state.fire_once(f"token:{device}"):
            raise SandboxError(Err.INVALID_TOKEN, "The access token has expired")
        return device

    async def read_json(request: Request) -> dict:
        body = await request.body()
        if len(body) > MAX_BODY:
            raise SandboxError(Err.INVALID_INPUT, "request body is too large")
        if not body:
            return {}
        try:
            doc = json.loads(body)
        except ValueError:
            raise SandboxError(Err.INVALID_INPUT, "request body is not valid JSON") from None
        if not isinstance(doc, dict):
            raise SandboxError(Err.INVALID_INPUT, "request body must be a JSON object")
        return doc

    def api(handler):
        async def endpoint(request: Request):
            try:
                return await handler(request)
            except SandboxError as e:
                return JSONResponse(e.body(), status_code=e.status)

        return endpoint

    def store_context(request: Request, f: Fault | None = None):
        m = state.merchant(request.path_params["domain"])
        device = device_of(request, f)
        state.check_open(m)
        return m, device

    def payment_of(m, body: dict) -> Payment:
        """The card, decrypted and checked, and the merchant's captcha rule (before any work)."""
        payment = Payment.from_card(state.keys.decrypt_card(body.get("encrypted_card")))
        if m.mode == "captcha" and not body.get("captcha_token"):
            raise SandboxError(Err.CAPTCHA_REQUIRED, "This merchant requires a captcha_token")
        return payment

    # ---- auth and key -------------------------------------------------------------------
    async def browser_session(request: Request):
        app_id = request.headers.get(names.H_APP_ID, "").strip()
        if not app_id or (state.app_ids is not None and app_id not in state.app_ids):
            raise SandboxError(
                Err.INVALID_APP_ID, "Application ID is invalid or not found", use_message=True
            )
        f = fault_of(request)
        body = await read_json(request)
        if body.get("access_token"):
            if (
                f
                and f.name == FaultName.RENEW_TOKEN_EXPIRED
                and state.fire_once("renew-token-expired")
            ):
                raise token_expired()
            return JSONResponse(state.renew_token(body["access_token"]))
        return JSONResponse(state.issue_token())

    async def public_key(request: Request):
        f = fault_of(request)
        keys = state.keys
        fmt = request.query_params.get("format", "JWK").upper()
        headers = {names.H_KID: keys.kid}
        if fmt == "JWK":
            resp = JSONResponse(keys.jwk, headers=headers)
        elif fmt == "PEM":
            resp = Response(keys.pem, media_type="text/plain", headers=headers)
        elif fmt == "RSA":
            resp = Response(keys.rsa_pem, media_type="text/plain", headers=headers)
        else:
            raise SandboxError(Err.INVALID_INPUT, "format must be JWK, PEM or RSA")
        if f and f.name == FaultName.ROTATE_KEY and state.fire_once("rotate-key"):
            keys.rotate()
        return resp

    # ---- place-order --------------------------------------------------------------------
    def finish(
        cart: Cart, billing: dict, payment: Payment, f: Fault | None, generation: int | None = None
    ) -> dict:
        """The answer of an order call: the order, or what a fault makes of it."""
        if f and f.name == FaultName.NOTICE_ITEMS_REMOVED:
            return state.remove_last(cart)
        order = state.commit(cart, billing, payment, generation)
        if f and f.name == FaultName.ORDER_WITHOUT_NUMBER:
            order.pop(names.ORDER_NUMBER)
        return order

    async def checkout(
        m,
        items: list[Item],
        shipping: dict,
        billing: dict,
        payment: Payment,
        f: Fault | None,
        generation: int,
    ):
        """The work of place-order: yields (event, data); raises SandboxError on failure.
        A cart view is yielded as ``cart.view``, to be called before the next step (only the
        event stream shows it: the JSON answer is the order alone)."""
        await pause()
        yield names.CREATING_CART, {"domain": m.domain}
        state.check_open(m)
        cart = Cart(m)
        for item in items:
            await pause()
            state.check_add(cart, item.variant_id, item.quantity)
            yield names.ITEM_ADDED, cart.view
        await pause()
        state.set_shipping(cart, shipping)
        yield names.SHIPPING_UPDATED, cart.view
        await pause()
        yield names.ORDER_PLACED, finish(cart, billing, payment, f, generation)

    # Work outlives a client that hangs up, as on a real server; the caller may watch the set.
    running: set[asyncio.Task] = set() if running is None else running

    def start_work(work: AsyncIterator, stop_after: str | None) -> asyncio.Queue:
        """Run the work as a task feeding a queue; it stops right after ``stop_after``."""
        queue: asyncio.Queue = asyncio.Queue()

        async def run() -> None:
            try:
                async for event, data in work:
                    item = (event, data() if callable(data) else data)
                    await queue.put(item)
                    if item[0] == stop_after:
                        await work.aclose()  # the server gives up mid-work: nothing more
                        break
            except SandboxError as e:
                await queue.put(e)
            finally:
                await queue.put(None)

        task = asyncio.get_running_loop().create_task(run())
        running.add(task)
        task.add_done_callback(running.discard)
        return queue

    async def stream(queue: asyncio.Queue, f: Fault | None) -> AsyncIterator[bytes]:
        name = f.name if f else None
        yield b": sandbox event stream\n\n"
        if name == FaultName.STALL:
            await asyncio.sleep(f.seconds)
        n = 0
        while (item := await queue.get()) is not None:
            if isinstance(item, SandboxError):
                yield _sse(names.ERROR, json.dumps(item.body()))
                return
            event, data = item
            if event == names.ORDER_PLACED and name == FaultName.COMMIT_THEN_CUT:
                return
            if event == names.SHIPPING_UPDATED and name == FaultName.GARBAGE_EVENT:
                yield _sse(event, "{this is not json", None)
            n += 1
            chunk = _sse(event, json.dumps(data), n)
            if name == FaultName.DRIP:
                for i in range(len(chunk)):
                    yield chunk[i : i + 1]
                    await asyncio.sleep(0)
            else:
                yield chunk
            if name == FaultName.CUT_AFTER and f.arg == event:
                return

    async def place_order(request: Request):
        f = fault_of(request)
        m = state.merchant(request.path_params["domain"])
        device_of(request, f)
        if early := _http_fault(f):
            return early
        body = await read_json(request)
        items = validate_items(body.get("items"))
        shipping = validate_address(body.get("shipping_info"), "shipping_info")
        billing = validate_address(body.get("billing_info", shipping), "billing_info")
        work = checkout(m, items, shipping, billing, payment_of(m, body), f, state.generation)
        if request.query_params.get("sse", "false").lower() != "true":
            if f and f.name == FaultName.STALL:
                await asyncio.sleep(f.seconds)
            order = None
            async for _, order in work:  # noqa: B007 - the last item is the order
                pass
            return JSONResponse(order)
        # The work starts now, not when the response starts streaming: like a real server, an
        # accepted order goes on even if the client hangs up before reading a byte.
        queue = start_work(work, f.arg if f and f.name == FaultName.CUT_AFTER else None)
        return StreamingResponse(
            stream(queue, f),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )

    def _http_fault(f: Fault | None) -> Response | None:
        if f and f.name == FaultName.HTTP_500_HTML:
            return HTMLResponse(HTML_500, status_code=500)
        if f and f.name == FaultName.HTTP_502_EMPTY:
            return Response(b"", status_code=502)
        return None

    async def complete_order(request: Request):
        generation = state.generation
        f = fault_of(request)
        m, device = store_context(request, f)
        if early := _http_fault(f):
            return early
        body = await read_json(request)
        billing = validate_address(body.get("billing_info"), "billing_info")
        payment = payment_of(m, body)
        cart = state.cart_for(device, m, create=False)
        if cart is None:
            raise SandboxError(Err.CART_NOT_FOUND, f"No cart for this device on {m.domain}")
        if not cart.lines or cart.shipping_info is None or cart.shipping_method is None:
            raise SandboxError(
                Err.MISSING_PARAMETERS, "The cart needs items, shipping info and a shipping method"
            )
        await pause()
        if f and f.name == FaultName.STALL:
            await asyncio.sleep(f.seconds)  # then the order goes through, answered or not
        answer = finish(cart, billing, payment, f, generation)
        if names.NOTICE not in answer:  # placed: the device's cart is spent
            state.carts.pop((device, m.domain), None)
        return JSONResponse(answer)

    # ---- the existing-cart flow ------------------------------------------------------------
    async def get_cart(request: Request):
        m, device = store_context(request, fault_of(request))
        return JSONResponse(state.cart_for(device, m).view())

    async def add_item(request: Request):
        m, device = store_context(request, fault_of(request))
        await pause()
        await read_json(request)  # variant_handles are accepted and ignored
        try:
            qty = int(request.path_params["qty"])
        except ValueError:
            qty = 0
        if qty < 1:
            raise SandboxError(Err.INVALID_INPUT, "quantity must be a whole number >= 1")
        flush = request.query_params.get("flush_cart", "false").lower() == "true"
        cart = state.cart_for(device, m)
        state.check_add(cart, request.path_params["sku"], qty, flush=flush)
        return JSONResponse(cart.view())

    async def shipping_info(request: Request):
        m, device = store_context(request, fault_of(request))
        await pause()
        address = validate_address(await read_json(request), "shipping_info")
        cart = state.cart_for(device, m)
        state.set_shipping(cart, address)
        return JSONResponse(cart.view())

    async def shipping_method(request: Request):
        m, device = store_context(request, fault_of(request))
        await pause()
        body = await read_json(request)
        cart = state.cart_for(device, m)
        state.set_method(cart, body.get("shipping_method"))
        return JSONResponse(cart.view())

    async def clear_cart(request: Request):
        m, device = store_context(request, fault_of(request))
        await pause()
        cart = state.cart_for(device, m)
        state.clear(cart)
        return JSONResponse(cart.view())

    # ---- inspection ----------------------------------------------------------------------
    async def list_orders(request: Request):
        return JSONResponse({"orders": [o.record() for o in state.orders]})

    async def stock(request: Request):
        return JSONResponse(state.stock)

    async def reset(request: Request):
        state.reset()
        return JSONResponse({"ok": True})

    async def http_error(request: Request, exc: HTTPException):
        name = Err.METHOD_NOT_ALLOWED if exc.status_code == 405 else Err.NOT_FOUND
        e = SandboxError(name, f"{request.method} {request.url.path}: {exc.detail}")
        headers = getattr(exc, "headers", None)  # 405 names the allowed methods
        return JSONResponse(
            {**e.body(), "code": exc.status_code}, status_code=exc.status_code, headers=headers
        )

    handlers = {
        ep.BROWSER_SESSION: api(browser_session),
        ep.PUBLIC_KEY: api(public_key),
        ep.PLACE_ORDER: api(place_order),
        ep.COMPLETE_ORDER: api(complete_order),
        ep.GET_CART: api(get_cart),
        ep.ADD_ITEM: api(add_item),
        ep.SHIPPING_INFO: api(shipping_info),
        ep.SHIPPING_METHOD: api(shipping_method),
        ep.CLEAR_CART: api(clear_cart),
        ep.SANDBOX_ORDERS: list_orders,
        ep.SANDBOX_STOCK: stock,
        ep.SANDBOX_RESET: reset,
    }
    routes = [Route(r.path, h, methods=[r.method]) for r, h in handlers.items()]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    return RequestLog(app, log) if log else app


def stderr_log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
