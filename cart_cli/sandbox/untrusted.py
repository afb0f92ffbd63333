"""JSON from clients, read safely (docs/api.md, "Sandbox limits").

Every JSON document the sandbox reads (request bodies, the encrypted card's header and
plaintext, access tokens) goes through ``parse_json``: nesting deeper than ``MAX_DEPTH``, a lone
surrogate in a string or key (it could not be written back as UTF-8), NaN/Infinity, invalid
UTF-8 are an ``ErrorInvalidInputBody`` before anything is looked at, let alone changed."""

from __future__ import annotations

import base64
import binascii
import json
import re

from cart_cli.sandbox.errors import SandboxError
from cart_cli.wire.names import Err

MAX_DEPTH = 32  # nesting of JSON arrays and objects; the contract's documents need 4
_SURROGATE = re.compile("[\\ud800-\\udfff]")


class NotJSON(SandboxError):
    """The bytes are not JSON at all (as opposed to JSON the sandbox refuses)."""

    def __init__(self, what: str) -> None:
        super().__init__(Err.INVALID_INPUT, f"{what} is not valid JSON")


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def parse_json(data: bytes | str, what: str) -> object:
    """A JSON document from untrusted bytes, or an ErrorInvalidInputBody naming ``what``."""
    try:
        doc = json.loads(data, parse_constant=_no_constant)
    except RecursionError:
        raise SandboxError(Err.INVALID_INPUT, f"{what} is nested too deeply") from None
    except ValueError:  # also invalid UTF-8 and integers of more than 4,300 digits
        raise NotJSON(what) from None
    check_tree(doc, what)
    return doc


def check_tree(doc: object, what: str) -> None:
    """Depth and text of a parsed document, without recursion."""
    stack = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                raise SandboxError(Err.INVALID_INPUT, f"{what} holds a lone surrogate (not text)")
        elif isinstance(node, (dict, list)):
            if depth > MAX_DEPTH:
                raise SandboxError(
                    Err.INVALID_INPUT, f"{what} is nested too deeply (more than {MAX_DEPTH})"
                )
            if isinstance(node, dict):
                stack.extend((k, depth) for k in node)
                stack.extend((v, depth + 1) for v in node.values())
            else:
                stack.extend((v, depth + 1) for v in node)


def b64url_json(segment: str, what: str) -> object:
    """A base64url segment (of a JWE or JWT) holding JSON."""
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise NotJSON(what) from None
    return parse_json(raw, what)


def check_compact(token: str, parts: int, what: str) -> bool:
    """Whether a compact JWS/JWE has ``parts`` parts and a JSON object for a header (and, for a
    JWS, a payload). Refused JSON (too deep, a lone surrogate) raises ErrorInvalidInputBody:
    jose would recurse into it and crash."""
    segments = token.split(".")
    if len(segments) != parts:
        return False
    try:
        docs = [b64url_json(s, what) for s in segments[: 2 if parts == 3 else 1]]
    except NotJSON:
        return False
    return all(isinstance(d, dict) for d in docs)
