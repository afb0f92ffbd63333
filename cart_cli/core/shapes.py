"""A small validator for the shapes an order file is made of (no pydantic on the client's path).

It checks what pydantic checked and reports each problem as pydantic did, as a list of dicts with
``type``, ``loc``, ``msg`` and, for some, ``ctx``, in the same order and the same words: the
order's problems (core/order.py turns them into messages naming file, field and line) read the
same as before. The sandbox keeps its pydantic models (wire/models.py); tests/test_shapes.py
checks this module against them, and against the client's former pydantic models, on generated
input.

Only what YAML and JSON order files hold is read: dicts, lists, str, int, float, bool, None and
dates (core/yamldoc.py refuses every other tag)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

# What pydantic (Rust's str::trim) strips: Unicode White_Space. Python's str.strip() would also
# take U+001C..U+001F, which Rust keeps.
WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_NOT_SPACE = "".join(f"\\u{ord(c):04x}" for c in WHITE_SPACE)


def rust_pattern(pattern: str) -> re.Pattern:
    """A pattern as pydantic's Rust engine read it: ``\\s`` is Unicode White_Space (as above)
    and ``$`` the very end (Python's also matches before a final newline). One difference, on
    purpose: a case-blind pattern's letters are ASCII letters only (Rust's ``(?i)[a-z]`` also
    took the long s, U+017F, into a merchant domain)."""
    translated = pattern.replace("[^@\\s]", f"[^@{_NOT_SPACE}]").replace("\\s", f"[{_NOT_SPACE}]")
    if translated.endswith("$") and not translated.endswith("\\$"):
        translated = translated[:-1] + r"\Z"
    return re.compile(translated, re.ASCII if translated.startswith("(?i)") else 0)


class Invalid(ValueError):
    """What pydantic's ValidationError was here: ``errors()`` lists every problem found."""

    def __init__(self, errors: list[dict]) -> None:
        super().__init__(errors)
        self._errors = errors

    def errors(self, *, include_input: bool = False, include_url: bool = False) -> list[dict]:
        return [dict(e) for e in self._errors]

    def __str__(self) -> str:
        return "\n".join(
            ".".join(map(str, e["loc"])) + (": " if e["loc"] else "") + e["msg"]
            for e in self._errors
        )


def error(type_: str, msg: str, ctx: dict | None = None, loc: tuple = ()) -> dict:
    e: dict = {"type": type_, "loc": loc, "msg": msg}
    if ctx is not None:
        e["ctx"] = ctx
    return e


def _fail(type_: str, msg: str, ctx: dict | None = None):
    raise Invalid([error(type_, msg, ctx)])


def value_error(e: ValueError) -> Invalid:
    return Invalid([error("value_error", f"Value error, {e}", {"error": e})])


def _within(key, e: Invalid) -> list[dict]:
    return [{**err, "loc": (key, *err["loc"])} for err in e.errors()]


Check = Callable[[Any, Any], Any]  # (value, context) -> value, or raises Invalid


# ---- the primitive checks ---


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def text(
    *,
    min_length: int | None = None,
    max_length: int | None = None,
    pattern: str | None = None,
    strip: bool = False,
    lower: bool = False,
    after: Callable[[str], str] | None = None,
) -> Check:
    """A string (never a number or a date: pydantic does not turn them into text), checked in
    pydantic's order: strip, lower, length, pattern; then ``after`` (ValueError: value_error)."""
    compiled = rust_pattern(pattern) if pattern else None

    def check(value, context=None) -> str:
        if not isinstance(value, str):
            _fail("string_type", "Input should be a valid string")
        value = str(value)
        if strip:
            value = value.strip(WHITE_SPACE)
        if lower:
            value = value.lower()
        if min_length is not None and len(value) < min_length:
            _fail(
                "string_too_short",
                f"String should have at least {_plural(min_length, 'character')}",
                {"min_length": min_length},
            )
        if max_length is not None and len(value) > max_length:
            _fail(
                "string_too_long",
                f"String should have at most {_plural(max_length, 'character')}",
                {"max_length": max_length},
            )
        if compiled is not None and not compiled.search(value):
            _fail(
                "string_pattern_mismatch",
                f"String should match pattern '{pattern}'",
                {"pattern": pattern},
            )
        if after is not None:
            try:
                value = after(value)
            except ValueError as e:
                raise value_error(e) from None
        return value

    return check


def integer(*, ge: int | None = None, le: int | None = None, strict: bool = False) -> Check:
    """A whole number; strict: an int and nothing else (no bool, float or numeric string)."""

    def check(value, context=None) -> int:
        if strict:
            if type(value) is not int:
                _fail("int_type", "Input should be a valid integer")
        elif isinstance(value, bool) or not isinstance(value, int):
            # Only ints (and bools, as pydantic reads them) reach here: the before-checks of
            # the fields that use a lax integer return an int or refuse the value themselves.
            if isinstance(value, bool):
                value = int(value)
            else:
                _fail("int_type", "Input should be a valid integer")
        if ge is not None and value < ge:
            _fail(
                "greater_than_equal", f"Input should be greater than or equal to {ge}", {"ge": ge}
            )
        if le is not None and value > le:
            _fail("less_than_equal", f"Input should be less than or equal to {le}", {"le": le})
        return value

    return check


def literal(*choices: str) -> Check:
    shown = [repr(c) for c in choices]
    expected = " or ".join([", ".join(shown[:-1]), shown[-1]]) if len(shown) > 1 else shown[0]

    def check(value, context=None) -> str:
        if not isinstance(value, str) or value not in choices:
            _fail("literal_error", f"Input should be {expected}", {"expected": expected})
        return str(value)

    return check


def optional(inner: Check) -> Check:
    def check(value, context=None):
        return None if value is None else inner(value, context)

    return check


def list_of(item: Check, *, min_length: int = 0, max_length: int | None = None) -> Check:
    def check(value, context=None) -> list:
        if not isinstance(value, list):
            _fail("list_type", "Input should be a valid list")
        if max_length is not None and len(value) > max_length:
            _fail(
                "too_long",
                f"List should have at most {_plural(max_length, 'item')} after validation, "
                f"not {len(value)}",
                {"field_type": "List", "max_length": max_length, "actual_length": len(value)},
            )
        out, errors = [], []
        for i, v in enumerate(value):
            try:
                out.append(item(v, context))
            except Invalid as e:
                errors += _within(i, e)
        if errors:
            raise Invalid(errors)
        if len(out) < min_length:
            _fail(
                "too_short",
                f"List should have at least {_plural(min_length, 'item')} after validation, "
                f"not {len(out)}",
                {"field_type": "List", "min_length": min_length, "actual_length": len(out)},
            )
        return out

    return check


def before(fn: Callable[[Any], Any], then: Check | None = None) -> Check:
    """``fn`` first (its ValueError: value_error), then ``then`` on what it returned."""

    def check(value, context=None):
        try:
            value = fn(value)
        except ValueError as e:
            raise value_error(e) from None
        return then(value, context) if then is not None else value

    return check


# ---- shapes: a mapping of known fields, nothing else ---


EXTRA = "Extra inputs are not permitted"


class Field:
    __slots__ = ("check", "default", "keys", "name", "required")

    def __init__(
        self,
        name: str,
        check: Check,
        *,
        required: bool = True,
        default: Any = None,
        keys: Sequence[str] = (),
    ) -> None:
        self.name, self.check, self.required, self.default = name, check, required, default
        self.keys = tuple(keys) or (name,)  # the keys it may be written as, first one first


class Shape:
    """A record validated from a mapping (``model_validate``) as a pydantic model with
    ``extra="forbid"``: every field's problems in field order, then every unknown key; a
    ``check`` of the whole runs only once every field is good."""

    __slots__ = ()
    FIELDS: ClassVar[tuple[Field, ...]] = ()

    def __init__(self, **values: Any) -> None:
        for f in self.FIELDS:
            object.__setattr__(self, f.name, values.get(f.name, f.default))

    @classmethod
    def model_validate(cls, data: Any, context: Any = None):
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            name = cls.__name__
            _fail(
                "model_type",
                f"Input should be a valid dictionary or instance of {name}",
                {"class_name": name},
            )
        errors: list[dict] = []
        values: dict[str, Any] = {}
        used = set()
        for f in cls.FIELDS:
            key = next((k for k in f.keys if k in data), None)
            if key is None:
                if f.required:
                    errors.append(error("missing", "Field required", loc=(f.keys[0],)))
                else:
                    values[f.name] = f.default
                continue
            used.add(key)
            try:
                values[f.name] = f.check(data[key], context)
            except Invalid as e:
                errors += _within(key, e)
        for key in data:
            if not isinstance(key, str):
                errors.append(error("invalid_key", "Keys should be strings", loc=(key,)))
            elif key not in used:
                errors.append(error("extra_forbidden", EXTRA, loc=(key,)))
        if errors:
            raise Invalid(errors)
        made = cls(**values)
        try:
            made.check(context)
        except ValueError as e:
            raise value_error(e) from None
        return made

    @classmethod
    def checker(cls) -> Check:
        return cls.model_validate

    def check(self, context: Any) -> None:
        """The whole record's own rules (ValueError: a problem of the record, not a field)."""

    def model_dump(self, *, exclude_none: bool = False, exclude=(), mode: str = "python") -> dict:
        out = {}
        for f in self.FIELDS:
            if f.name in exclude:
                continue
            value = _dump(getattr(self, f.name), exclude_none)
            if value is None and exclude_none:
                continue
            out[f.name] = value
        return out

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, f.name) == getattr(other, f.name) for f in self.FIELDS)

    __hash__ = None  # type: ignore[assignment]  # mutable-looking records are not hashed

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in self.FIELDS)
        return f"{type(self).__name__}({shown})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")


def _dump(value: Any, exclude_none: bool) -> Any:
    if isinstance(value, Shape):
        return value.model_dump(exclude_none=exclude_none)
    if isinstance(value, list):
        return [_dump(v, exclude_none) for v in value]
    return value


class Secret:
    """A text never shown by repr or str (a card number, a CVV)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        object.__setattr__(self, "_value", value)

    def get_secret_value(self) -> str:
        return self._value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "SecretStr('**********')"

    def __str__(self) -> str:
        return "**********"

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a secret is read-only")


def secret(check: Check) -> Check:
    def wrap(value, context=None) -> Secret:
        return Secret(check(value, context))

    return wrap
