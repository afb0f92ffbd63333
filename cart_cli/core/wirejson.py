"""Reading JSON that came off the wire: whatever the bytes, a value or ``Unreadable``.

A server's answer is read strictly: UTF-8 only (a leading BOM dropped), no NaN/Infinity, no number
that does not fit (``1e400`` would become an infinite float, a 5,000-digit integer is refused by
Python itself), and no nesting deeper than MAX_DEPTH (deeper JSON ends in RecursionError in the
parser, or later wherever the value is walked: a log, a renderer, ``--json``)."""

from __future__ import annotations

import json
import math
import re

MAX_DEPTH = 64
MAX_NUMBER_CHARS = 400  # digits of an integer, characters of a float


class Unreadable(ValueError):
    """The bytes are not JSON this client can use; ``str()`` says why, in a few words."""


def _float(text: str) -> float:
    value = float(text) if len(text) <= MAX_NUMBER_CHARS else math.inf
    if not math.isfinite(value):
        raise Unreadable(f"a number out of range ({text[:20]}…)")
    return value


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise Unreadable(f"a number out of range ({text[:20]}…)")
    return int(text)


def _constant(text: str):
    raise Unreadable(f"{text} is not a JSON number")


def loads(raw: bytes | str) -> object:
    """The JSON value of ``raw``, or Unreadable."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Unreadable("not UTF-8") from None
    text = raw.removeprefix("\ufeff")  # a leading BOM is not part of the JSON
    try:
        value = json.loads(text, parse_float=_float, parse_int=_int, parse_constant=_constant)
    except Unreadable:
        raise
    except RecursionError:
        raise Unreadable(f"nested more than {MAX_DEPTH} deep") from None
    except ValueError:  # JSONDecodeError, a lone surrogate, ...
        raise Unreadable("not JSON") from None
    if _may_be_bad(text):
        check_value(value)
    return value


SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _may_be_bad(text: str) -> bool:
    """Whether walking the value (check_value) can find anything: it can nest deeper than
    MAX_DEPTH only if the text has more brackets than that, and hold a lone surrogate only if
    the text has one or a surrogate escape. An answer of a few kilobytes has neither: this
    look at the text costs a fraction of the walk (a batch reads four answers per order)."""
    if text.count("{") + text.count("[") > MAX_DEPTH:
        return True
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return True
    return "\\u" in text and SURROGATE_ESCAPE.search(text) is not None


def check_value(value: object, limit: int = MAX_DEPTH) -> None:
    """Unreadable if ``value`` nests containers more than ``limit`` deep, or holds a string
    that is not Unicode text (a lone surrogate, from a ``\\ud800`` escape). No recursion."""
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, str):
            _text(v)
            continue
        if isinstance(v, dict):
            for k in v:
                _text(k)
            children = v.values()
        elif isinstance(v, list):
            children = v
        else:
            continue
        if depth > limit:
            raise Unreadable(f"nested more than {limit} deep")
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list, str)))


def _text(s: str) -> None:
    if not s.isascii():
        try:
            s.encode("utf-8")
        except UnicodeEncodeError:
            raise Unreadable("a string that is not Unicode text (a lone surrogate)") from None
