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


# ---- text from data, shown to a person ---

# What is shown escaped: C0 controls (ESC among them), DEL and C1 (0x9b is a one-byte CSI on some
# terminals); bidirectional overrides, embeddings, isolates and marks (U+202E shows "exe.txt" for
# "txt.exe"); line and paragraph separators (a line break to splitlines()); lone surrogates
# (undecodable input, which cannot even be written to a UTF-8 stream).
_OTHERS = "\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff"
UNSAFE = re.compile(f"[\x00-\x1f{_OTHERS}]")
UNSAFE_BUT_NEWLINE = re.compile(f"[\x00-\x09\x0b-\x1f{_OTHERS}]")  # safe(..., lines=True)


_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _shown(match: re.Match) -> str:
    ch = match.group()
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    o = ord(ch)
    return f"\\x{o:02x}" if o <= 0xFF else f"\\u{o:04x}"


def safe(value: object, *, lines: bool = False) -> str:
    """``value`` as text that cannot act on a terminal: C0 and C1 controls (ESC among them), DEL,
    bidirectional overrides, isolates and marks, line separators and lone surrogates are shown
    as visible escapes (ESC as ``\\x1b``, U+202E as ``\\u202e``), never dropped, so a person sees
    that the data holds them. Everything else is kept as it is. ``lines``: a message of several
    lines keeps its line breaks (each line is still made safe).

    For text that came from data (an order file, the environment, an API answer) and is about to
    be shown to a person; JSON and JSONL outputs keep the data exact instead. It does not escape
    rich markup: renderers never interpret markup in data (they print it as Text)."""
    text = value if isinstance(value, str) else str(value)
    return (UNSAFE_BUT_NEWLINE if lines else UNSAFE).sub(_shown, text)


# ---- text from data, written into XML ---

# What XML 1.0 has no place for, not even as a character reference (&#27; is as invalid as the
# character): C0 controls but tab, newline and carriage return; lone surrogates; U+FFFE, U+FFFF.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: object) -> str:
    """``value`` as text an XML 1.0 document can hold: what it cannot is shown as a visible
    escape (ESC as ``\\x1b``, NUL as ``\\x00``), as ``safe`` shows it on a terminal."""
    text = value if isinstance(value, str) else str(value)
    return NOT_XML.sub(_shown, text)
