"""The sandbox's request handlers: module-level functions over the app's ``Context``
(``request.app.state.ctx``: the ``State``, the latency, the run's fault, the running work).
``app.py`` maps the endpoint table onto them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from cart_cli.sandbox import products
from cart_cli.sandbox.carts import Cart
from cart_cli.sandbox.catalog import Merchant
from cart_cli.sandbox.errors import SandboxError, token_expired
from cart_cli.sandbox.faults import Fault, parse_fault
from cart_cli.sandbox.inputs import (
    ClientGone,
    read_json,
    text_field,
    validate_address,
    validate_items,
)
from cart_cli.sandbox.payments import Payment
from cart_cli.sandbox.state import State
from cart_cli.wire import names
from cart_cli.wire.models import Item
from cart_cli.wire.names import Err, FaultName
from cart_cli.wire.text import is_digits

CLIENT_GONE = "cart_cli.client_gone"  # scope key: the client hung up mid-body
HTML_500 = "<html><head><title>500 Internal Server Error</title></head><body>oops</body></html>"


@dataclass
class Context:
    """What every handler works with."""

    state: State
    latency: float = 0.0
    fault: Fault | None = None  # the run's fault; a request's x-sandbox-fault header wins
    # Work outlives a client that hangs up, as on a real server; the caller may watch the set.
    running: set[asyncio.Task] = field(default_factory=set)

    async def pause(self) -> None:
        if self.latency:
            await asyncio.sleep(self.latency)


def ctx_of(request: Request) -> Context:
    return request.app.state.ctx


def api(handler: Callable[[Request], Awaitable[Response]]):
    """A handler whose SandboxError becomes the contract's JSON error answer."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except SandboxError as e:
            headers = {"connection": "close"} if e.close else None
            return JSONResponse(e.body(), status_code=e.status, headers=headers)
        except ClientGone:  # nobody to answer; the request log says so in one line
            request.scope[CLIENT_GONE] = True
            return Response(status_code=400)

    endpoint.__name__ = handler.__name__
    return endpoint


# ---- what every store call checks ---------------------------------------------------------
def fault_of(request: Request) -> Fault | None:
    header = request.headers.get(names.H_FAULT)
    if header:
        try:
            return parse_fault(header)
        except ValueError as e:
            raise SandboxError(Err.INVALID_INPUT, str(e)) from None
    return ctx_of(request).fault


def device_of(request: Request, f: Fault | None) -> str:
    state = ctx_of(request).state
    device = state.device_of(request.headers.get(names.H_AUTH))
    if f and f.name == FaultName.TOKEN_EXPIRED_ONCE and state.fire_once(f"token:{device}"):
        raise SandboxError(Err.INVALID_TOKEN, "The access token has expired")
    return device


def store_context(request: Request, f: Fault | None = None) -> tuple[Merchant, str]:
    state = ctx_of(request).state
    m = state.merchant(request.path_params["domain"])
    device = device_of(request, f)
    state.check_open(m)
    return m, device


def payment_of(state: State, m: Merchant, body: dict) -> Payment:
    """The card, decrypted and checked, and the merchant's captcha rule (before any work)."""
    payment = Payment.from_card(state.keys.decrypt_card(body.get("encrypted_card")), state.now())
    if m.mode == "captcha" and not body.get("captcha_token"):
        raise SandboxError(Err.CAPTCHA_REQUIRED, "This merchant requires a captcha_token")
    return payment


def http_fault(f: Fault | None) -> Response | None:
    if f and f.name == FaultName.HTTP_500_HTML:
        return HTMLResponse(HTML_500, status_code=500)
    if f and f.name == FaultName.HTTP_502_EMPTY:
        return Response(b"", status_code=502)
    return None


# ---- auth and key -------------------------------------------------------------------------
async def browser_session(request: Request) -> Response:
    state = ctx_of(request).state
    app_id = request.headers.get(names.H_APP_ID, "").strip()
    if not app_id or (state.app_ids is not None and app_id not in state.app_ids):
        raise SandboxError(
            Err.INVALID_APP_ID, "Application ID is invalid or not found", use_message=True
        )
    f = fault_of(request)
    body = await read_json(request)
    if old := text_field(body, "access_token"):
        if f and f.name == FaultName.RENEW_TOKEN_EXPIRED and state.fire_once("renew-token-expired"):
            raise token_expired()
        return JSONResponse(state.renew_token(old))
    return JSONResponse(state.issue_token())


async def public_key(request: Request) -> Response:
    f = fault_of(request)
    state = ctx_of(request).state
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


# ---- place-order --------------------------------------------------------------------------
def finish(
    state: State,
    cart: Cart,
    billing: dict,
    payment: Payment,
    f: Fault | None,
    generation: int | None = None,
) -> dict:
    """The answer of an order call: the order, or what a fault makes of it."""
    if f and f.name == FaultName.NOTICE_ITEMS_REMOVED:
        return state.remove_last(cart)
    order = state.commit(cart, billing, payment, generation)
    if f and f.name == FaultName.ORDER_WITHOUT_NUMBER:
        order.pop(names.ORDER_NUMBER)
    return order


async def checkout(
    ctx: Context,
    m: Merchant,
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
    state = ctx.state
    await ctx.pause()
    yield names.CREATING_CART, {"domain": m.domain}
    state.check_open(m)
    cart = Cart(m)
    for item in items:
        await ctx.pause()
        state.check_add(cart, item.variant_id, item.quantity)
        yield names.ITEM_ADDED, cart.view
    await ctx.pause()
    state.set_shipping(cart, shipping)
    yield names.SHIPPING_UPDATED, cart.view
    await ctx.pause()
    yield names.ORDER_PLACED, finish(state, cart, billing, payment, f, generation)


def sse(name: str, data: str, event_id: int | None = None) -> bytes:
    lines = [f"event: {name}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines += [f"data: {part}" for part in data.split("\n")]
    return ("\n".join(lines) + "\n\n").encode()


def start_work(ctx: Context, work: AsyncIterator, stop_after: str | None) -> asyncio.Queue:
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
    ctx.running.add(task)
    task.add_done_callback(ctx.running.discard)
    return queue


async def stream(queue: asyncio.Queue, f: Fault | None) -> AsyncIterator[bytes]:
    name = f.name if f else None
    yield b": sandbox event stream\n\n"
    if name == FaultName.STALL:
        await asyncio.sleep(f.seconds)
    n = 0
    while (item := await queue.get()) is not None:
        if isinstance(item, SandboxError):
            yield sse(names.ERROR, json.dumps(item.body()))
            return
        event, data = item
        if event == names.ORDER_PLACED and name == FaultName.COMMIT_THEN_CUT:
            return
        if event == names.SHIPPING_UPDATED and name == FaultName.GARBAGE_EVENT:
            yield sse(event, "{this is not json", None)
        n += 1
        chunk = sse(event, json.dumps(data), n)
        if name == FaultName.DRIP:
            for i in range(len(chunk)):
                yield chunk[i : i + 1]
                await asyncio.sleep(0)
        else:
            yield chunk
        if name == FaultName.CUT_AFTER and f.arg == event:
            return


def route_not_found(request: Request, status: int = 404, detail: str = "Not Found") -> Response:
    """The answer for a route this server does not have (docs/api.md, "Errors")."""
    name = Err.METHOD_NOT_ALLOWED if status == 405 else Err.ROUTE_NOT_FOUND
    e = SandboxError(name, f"{request.method} {request.url.path}: {detail}")
    return JSONResponse({**e.body(), "code": status}, status_code=status)


async def place_order(request: Request) -> Response:
    ctx = ctx_of(request)
    state = ctx.state
    domain = state.merchants.get(request.path_params["domain"])
    if domain is not None and not domain.place_order:  # as a server without the route answers
        return route_not_found(request)
    f = fault_of(request)
    m = state.merchant(request.path_params["domain"])
    device_of(request, f)
    if early := http_fault(f):
        return early
    body = await read_json(request)
    items = validate_items(body.get("items"))
    optional = m.phone_optional
    shipping = validate_address(body.get("shipping_info"), "shipping_info", phone_optional=optional)
    billing = validate_address(
        body.get("billing_info", shipping), "billing_info", phone_optional=optional
    )
    payment = payment_of(state, m, body)
    work = checkout(ctx, m, items, shipping, billing, payment, f, state.generation)
    if request.query_params.get("sse", "false").lower() != "true":
        if f and f.name == FaultName.STALL:
            await asyncio.sleep(f.seconds)
        order = None
        async for _, order in work:  # noqa: B007 - the last item is the order
            pass
        return JSONResponse(order)
    # The work starts now, not when the response starts streaming: like a real server, an
    # accepted order goes on even if the client hangs up before reading a byte.
    queue = start_work(ctx, work, f.arg if f and f.name == FaultName.CUT_AFTER else None)
    return StreamingResponse(
        stream(queue, f),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


async def complete_order(request: Request) -> Response:
    ctx = ctx_of(request)
    state = ctx.state
    generation = state.generation
    f = fault_of(request)
    m, device = store_context(request, f)
    if early := http_fault(f):
        return early
    body = await read_json(request)
    billing = validate_address(
        body.get("billing_info"), "billing_info", phone_optional=m.phone_optional
    )
    payment = payment_of(state, m, body)
    cart = state.cart_for(device, m, create=False)
    if cart is None:
        raise SandboxError(Err.CART_NOT_FOUND, f"No cart for this device on {m.domain}")
    if not cart.lines or cart.shipping_info is None or cart.shipping_method is None:
        raise SandboxError(
            Err.MISSING_PARAMETERS, "The cart needs items, shipping info and a shipping method"
        )
    await ctx.pause()
    if f and f.name == FaultName.STALL:
        await asyncio.sleep(f.seconds)  # then the order goes through, answered or not
    answer = finish(state, cart, billing, payment, f, generation)
    if names.NOTICE not in answer:  # placed: the device's cart is spent
        state.carts.pop((device, m.domain), None)
    return JSONResponse(answer)


# ---- the existing-cart flow ---------------------------------------------------------------
async def get_cart(request: Request) -> Response:
    m, device = store_context(request, fault_of(request))
    return JSONResponse(ctx_of(request).state.cart_for(device, m).view())


async def add_item(request: Request) -> Response:
    ctx = ctx_of(request)
    m, device = store_context(request, fault_of(request))
    await ctx.pause()
    await read_json(request)  # variant_handles are accepted and ignored
    text = request.path_params["qty"]
    qty = int(text) if is_digits(text) else 0  # int() would read "５" (fullwidth) too
    if qty < 1:
        raise SandboxError(Err.INVALID_INPUT, "quantity must be a whole number >= 1")
    flush = request.query_params.get("flush_cart", "false").lower() == "true"
    cart = ctx.state.cart_for(device, m)
    ctx.state.check_add(cart, request.path_params["sku"], qty, flush=flush)
    return JSONResponse(cart.view())


async def shipping_info(request: Request) -> Response:
    ctx = ctx_of(request)
    m, device = store_context(request, fault_of(request))
    await ctx.pause()
    address = validate_address(
        await read_json(request), "shipping_info", phone_optional=m.phone_optional
    )
    cart = ctx.state.cart_for(device, m)
    ctx.state.set_shipping(cart, address)
    return JSONResponse(cart.view())


async def shipping_method(request: Request) -> Response:
    ctx = ctx_of(request)
    m, device = store_context(request, fault_of(request))
    await ctx.pause()
    body = await read_json(request)
    cart = ctx.state.cart_for(device, m)
    ctx.state.set_method(cart, text_field(body, "shipping_method"))
    return JSONResponse(cart.view())


async def clear_cart(request: Request) -> Response:
    ctx = ctx_of(request)
    m, device = store_context(request, fault_of(request))
    await ctx.pause()
    cart = ctx.state.cart_for(device, m)
    ctx.state.clear(cart)
    return JSONResponse(cart.view())


async def set_quantity(request: Request) -> Response:
    """PUT a line's quantity, as the drop-ins' quantity stepper and remove button do:
    ``{"quantity": N, "variant_handles": [...]}``; 0 removes the line."""
    ctx = ctx_of(request)
    m, device = store_context(request, fault_of(request))
    await ctx.pause()
    body = await read_json(request)  # variant_handles are accepted and ignored
    qty = body.get("quantity")
    if not isinstance(qty, int) or isinstance(qty, bool) or not 0 <= qty <= 10_000:
        raise SandboxError(Err.INVALID_INPUT, "quantity must be a whole number from 0 to 10000")
    cart = ctx.state.cart_for(device, m)
    ctx.state.set_quantity(cart, request.path_params["sku"], qty)
    return JSONResponse(cart.view())


async def get_consents(request: Request) -> Response:
    m, device = store_context(request, fault_of(request))
    return JSONResponse(ctx_of(request).state.consents_of(device, m))


async def set_consents(request: Request) -> Response:
    """Sign consents: ``{"consents": [{"id": ...}]}`` (as the v4 drop-in sends it)."""
    state = ctx_of(request).state
    m, device = store_context(request, fault_of(request))
    body = await read_json(request)
    given = body.get("consents")
    if not isinstance(given, list) or not all(
        isinstance(c, dict) and isinstance(c.get("id"), str) for c in given
    ):
        raise SandboxError(Err.INVALID_INPUT, 'consents must be a list of {"id": ...}')
    state.sign_consents(device, m, [c["id"] for c in given])
    return JSONResponse(state.consents_of(device, m))


# ---- Cart v2 ------------------------------------------------------------------------------
def _ref_variant(ref: object) -> str:
    """The variant an add_to_cart_ref names: ``{"variant_id": ...}`` as the product answers
    carry it (a bare string is read as the variant id)."""
    if isinstance(ref, dict):
        ref = ref.get("variant_id")
    if not isinstance(ref, str) or not ref:
        raise SandboxError(
            Err.INVALID_INPUT, 'add_to_cart_ref must be {"variant_id": ...} from a product answer'
        )
    return ref


async def v2_add_item(request: Request) -> Response:
    ctx = ctx_of(request)
    m, device = store_context(request, fault_of(request))
    await ctx.pause()
    body = await read_json(request)
    sku = _ref_variant(body.get("add_to_cart_ref"))
    qty = body.get("quantity", 1)
    if not isinstance(qty, int) or isinstance(qty, bool) or not 1 <= qty <= 10_000:
        raise SandboxError(Err.INVALID_INPUT, "quantity must be a whole number from 1 to 10000")
    cart = ctx.state.cart_for(device, m)
    ctx.state.check_add(cart, sku, qty)
    return JSONResponse(cart.view_v2())


async def v2_get_cart(request: Request) -> Response:
    m, device = store_context(request, fault_of(request))
    return JSONResponse(ctx_of(request).state.cart_for(device, m).view_v2())


async def v2_shipping_method(request: Request) -> Response:
    ctx = ctx_of(request)
    m, device = store_context(request, fault_of(request))
    await ctx.pause()
    body = await read_json(request)
    cart = ctx.state.cart_for(device, m)
    if not cart.lines or body.get("shipment_id") != cart.shipment_id():
        raise SandboxError(Err.INVALID_INPUT, "shipment_id names no shipment of this cart")
    ctx.state.set_method(cart, body.get("shipping_method_id"))
    return JSONResponse(cart.view_v2())


# ---- products -----------------------------------------------------------------------------
async def product(request: Request) -> Response:
    state = ctx_of(request).state
    m, _ = store_context(request, fault_of(request))
    variants = products.find(m, request.path_params["handle"])
    return JSONResponse(products.view(m, variants, state.stock[m.domain]))


async def product_by_url(request: Request) -> Response:
    state = ctx_of(request).state
    device_of(request, fault_of(request))
    url = request.query_params.get("url")
    if not url:
        raise SandboxError(Err.INVALID_INPUT, "url is required (a product page's URL)")
    m, variants = products.find_by_url(state.merchants, url)
    state.check_open(m)
    return JSONResponse(products.view(m, variants, state.stock[m.domain]))


# ---- inspection ---------------------------------------------------------------------------
async def list_orders(request: Request) -> Response:
    return JSONResponse({"orders": [o.record() for o in ctx_of(request).state.orders]})


async def stock(request: Request) -> Response:
    return JSONResponse(ctx_of(request).state.stock)


async def reset(request: Request) -> Response:
    ctx_of(request).state.reset()
    return JSONResponse({"ok": True})
