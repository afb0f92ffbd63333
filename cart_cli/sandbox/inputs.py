"""Reading and checking what clients send: the JSON body (read as it arrives, with a cap and a
deadline; docs/api.md, "Sandbox limits"), addresses, items."""

from __future__ import annotations

import asyncio

from pydantic import ValidationError
from starlette.requests import ClientDisconnect, Request

from cart_cli.sandbox.errors import SandboxError
from cart_cli.sandbox.untrusted import parse_json
from cart_cli.wire.models import Address, Item, Text
from cart_cli.wire.names import Err

MAX_BODY = 1 << 20  # bytes of a request body; enforced as it arrives
# Seconds for a request body to arrive once the handler reads it (the head has its own deadline,
# protocol.HEAD_TIMEOUT). 1 MiB in 10 s is 100 KiB/s: any real client on any real network.
BODY_TIMEOUT = 10.0


class ClientGone(Exception):
    """The client hung up before its request body was all here: nobody to answer."""


async def _read_body(request: Request) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise _too_large()
    return bytes(body)


def _too_large() -> SandboxError:
    # The rest is not read: the connection is closed after the answer.
    return SandboxError(
        Err.INVALID_INPUT, f"request body is too large (more than {MAX_BODY} bytes)", close=True
    )


async def read_body(request: Request) -> bytes:
    """The request body, read as it arrives, refused past MAX_BODY bytes (at once if the
    Content-Length says so) or BODY_TIMEOUT seconds. Raises ClientGone if the client hangs up."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY:
        raise _too_large()
    try:
        return await asyncio.wait_for(_read_body(request), BODY_TIMEOUT)
    except ClientDisconnect:
        raise ClientGone from None
    except asyncio.TimeoutError:
        raise SandboxError(
            Err.INVALID_INPUT, f"request body did not arrive within {BODY_TIMEOUT:g} s", close=True
        ) from None


def _pydantic_problem(e: ValidationError, prefix: str) -> str:
    first = e.errors(include_input=False, include_url=False)[0]
    loc = ".".join(str(p) for p in (prefix, *first["loc"]) if p != "")
    return f"{loc}: {first['msg']}"


async def read_json(request: Request) -> dict:
    body = await read_body(request)
    if not body:
        return {}
    doc = parse_json(body, "request body")
    if not isinstance(doc, dict):
        raise SandboxError(Err.INVALID_INPUT, "request body must be a JSON object")
    return doc


class _AddressPhoneOptional(Address):
    phone: Text | None = None


def validate_address(obj: object, field: str, *, phone_optional: bool = False) -> dict:
    """A checked address. Lenient like the real service: members it does not know are ignored,
    and a blank address2 or company counts as absent (Firmly's own code sends address2 " ").
    ``phone_optional``: the merchant's shop_properties.optional_fields.shipping_phone, where
    Firmly's v4 drop-in sends no phone (and billing as shipping); a blank phone is absent."""
    if obj is None:
        raise SandboxError(Err.INVALID_INPUT, f"{field} is required")
    blank_is_absent = (
        ("address2", "company", "phone") if phone_optional else ("address2", "company")
    )
    if isinstance(obj, dict):
        obj = {
            k: v
            for k, v in obj.items()
            if k in Address.model_fields
            and not (k in blank_is_absent and isinstance(v, str) and not v.strip())
        }
    model = _AddressPhoneOptional if phone_optional else Address
    try:
        return model.model_validate(obj).model_dump(exclude_none=True)
    except ValidationError as e:
        raise SandboxError(Err.INVALID_INPUT, _pydantic_problem(e, field)) from None


def text_field(body: dict, name: str, *, required: bool = False) -> str | None:
    """A member that must be a string when present."""
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise SandboxError(Err.INVALID_INPUT, f"{name} must be a string")
    return value


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
