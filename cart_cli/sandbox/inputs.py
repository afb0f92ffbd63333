"""Reading and checking what clients send: the JSON body, addresses, items."""

from __future__ import annotations

import json

from pydantic import ValidationError
from starlette.requests import Request

from cart_cli.sandbox.errors import SandboxError
from cart_cli.wire.models import Address, Item, Text
from cart_cli.wire.names import Err

MAX_BODY = 1 << 20


def _pydantic_problem(e: ValidationError, prefix: str) -> str:
    first = e.errors(include_input=False, include_url=False)[0]
    loc = ".".join(str(p) for p in (prefix, *first["loc"]) if p != "")
    return f"{loc}: {first['msg']}"


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
