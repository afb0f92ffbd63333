"""Reading and checking what clients send: the JSON body, addresses, items."""

from __future__ import annotations

import json

from pydantic import ValidationError
from starlette.requests import Request

from cart_cli.sandbox.errors import SandboxError
from cart_cli.wire.models import Address, Item
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
