"""Text rules shared by the client and the sandbox: what counts as a digit.

``str.isdigit()`` and ``int()`` accept every script's digits (fullwidth ``４``, Arabic-Indic ``٤``):
a number read from a person or a file is ASCII ``0-9`` or it is refused."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"[0-9]+")


def is_digits(text: object) -> bool:
    """``text`` is a non-empty string of ASCII digits 0-9 (no sign, space or other script)."""
    return isinstance(text, str) and _DIGITS.fullmatch(text) is not None


def has_foreign_digits(text: str) -> bool:
    """``text`` holds a decimal digit that is not ASCII 0-9 (fullwidth, Arabic-Indic, ...)."""
    return any(ch.isdecimal() and not "0" <= ch <= "9" for ch in text)
