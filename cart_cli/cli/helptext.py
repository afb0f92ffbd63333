"""Help piped or redirected (stdout not a terminal): typer's rich help pads every line with
spaces to the console's width (80 columns) and opens with a blank line, so `cart-cli --help |
head -1` printed 80 spaces. There it is written without that padding: each line's trailing
spaces dropped, and the blank lines before the first words. On a terminal it is left as it is."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

HELP = ("-h", "--help")


class Trimmed:
    """A text stream that writes whole lines to ``out`` without their trailing spaces, leaving
    out the blank lines before the first one with words."""

    def __init__(self, out: Any) -> None:
        self.out = out
        self.pending = ""
        self.started = False

    def write(self, text: str) -> int:
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            line = line.rstrip()
            if line or self.started:
                self.started = True
                self.out.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        if self.pending.rstrip():
            self.out.write(self.pending.rstrip())
            self.started = True
        self.pending = ""
        self.out.flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:  # encoding, fileno... as the stream's
        return getattr(self.out, name)


@contextlib.contextmanager
def piped_help(shows_help: bool, out: Any, is_terminal: bool) -> Iterator[None]:
    """While a run that shows help prints to ``out`` (not a terminal), typer's help console
    writes it through ``Trimmed``; otherwise nothing changes (and rich is not imported)."""
    if is_terminal or not shows_help:
        yield
        return
    from typer import rich_utils

    make = rich_utils._get_rich_console
    trimmed = Trimmed(out)

    def console(stderr: bool = False):
        made = make(stderr=stderr)
        if not stderr:
            made.file = trimmed
        return made

    rich_utils._get_rich_console = console
    try:
        yield
    finally:
        rich_utils._get_rich_console = make
        trimmed.flush()
