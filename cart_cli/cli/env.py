"""The Environment: everything a run takes from the process, made once in ``main()``.

Standard streams (and whether each is a terminal), environment variables, the clock, the cache
and config folders, and the consoles on stdout and stderr. Commands read these from here and hand
the core what it needs as arguments; the core reads no process global. Tests make their own.
(The model is httpie's ``context.Environment``.)

Light at import time: rich and platformdirs load only when a console or a folder is asked for."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import IO, Any

from cart_cli.wire.clock import clock_from, system_clock


class SafeStream(io.TextIOBase):
    """A text stream that cannot fail the run: once its reader is gone (EPIPE) or it was never
    open, writes are dropped. A closed stderr must not turn a placed order into exit 1."""

    def __init__(self, stream: IO[str] | None) -> None:
        self.stream = stream
        self.broken = stream is None

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                self.stream.write(text)
            except (OSError, ValueError):
                self.close_quietly()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self.stream.flush()
            except (OSError, ValueError):
                self.close_quietly()

    def close_quietly(self) -> None:
        """Drop all further output, including what is buffered for the flush at exit (which would
        otherwise fail and change the exit code)."""
        self.broken = True
        try:
            fd = self.stream.fileno()
        except (AttributeError, OSError, ValueError):
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
        except OSError:
            pass
        finally:
            os.close(devnull)

    def isatty(self) -> bool:
        return _isatty(self.stream)

    def fileno(self) -> int:
        if self.stream is None:
            raise io.UnsupportedOperation("no stream")
        return self.stream.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self.stream, "encoding", None) or "utf-8"


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (ValueError, OSError):
        return False


@dataclass
class Environment:
    stdin: IO[str] | None = None
    stdout: IO[str] = field(default_factory=io.StringIO)
    stderr: IO[str] = field(default_factory=io.StringIO)
    stdin_isatty: bool = False
    stdout_isatty: bool = False
    stderr_isatty: bool = False
    environ: Mapping[str, str] = field(default_factory=dict)
    clock: Callable[[], datetime] = system_clock

    @classmethod
    def from_process(cls) -> Environment:
        environ = os.environ
        clock = clock_from(environ)
        return cls(
            stdin=sys.stdin,
            stdout=SafeStream(sys.stdout),
            stderr=SafeStream(sys.stderr),
            stdin_isatty=_isatty(sys.stdin),
            stdout_isatty=_isatty(sys.stdout),
            stderr_isatty=_isatty(sys.stderr),
            environ=environ,
            clock=clock,
        )

    # ---- time and folders ----------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.clock().date()

    @cached_property
    def cache_dir(self) -> Path:
        if self.environ.get("CART_CLI_CACHE_DIR"):
            return Path(self.environ["CART_CLI_CACHE_DIR"])
        import platformdirs

        return Path(platformdirs.user_cache_dir("cart-cli"))

    @cached_property
    def config_dir(self) -> Path:
        if self.environ.get("CART_CLI_CONFIG_DIR"):
            return Path(self.environ["CART_CLI_CONFIG_DIR"])
        import platformdirs

        return Path(platformdirs.user_config_dir("cart-cli"))

    @cached_property
    def data_dir(self) -> Path:
        """Records kept between runs (the order history)."""
        if self.environ.get("CART_CLI_DATA_DIR"):
            return Path(self.environ["CART_CLI_DATA_DIR"])
        import platformdirs

        return Path(platformdirs.user_data_dir("cart-cli"))

    # ---- input ---------------------------------------------------------------------------------
    def read_stdin(self, limit: int) -> bytes:
        buffer = getattr(self.stdin, "buffer", None)
        if buffer is not None:
            return buffer.read(limit)
        return self.stdin.read(limit).encode("utf-8", "surrogateescape")

    def order_inputs(self, prompt_card: Callable[[date], dict] | None = None):
        """What the core reads orders with: environment, today, standard input, the prompt."""
        from cart_cli.core.order import Inputs

        return Inputs(
            self.environ,
            self.today(),
            self.read_stdin if self.stdin is not None else None,
            prompt_card if self.stdin is not None and self.stdin_isatty else None,
        )

    # ---- output --------------------------------------------------------------------------------
    def stdout_stat(self) -> os.stat_result | None:
        """Standard output's file status (a file, a pipe, a terminal), or None when it has no
        file: for telling that an output path is standard output itself."""
        try:
            return os.fstat(self.stdout.fileno())
        except (AttributeError, OSError, ValueError):
            return None

    @property
    def stderr_live(self) -> bool:
        """A live display can be drawn on stderr (a terminal, not TERM=dumb)."""
        from cart_cli.cli.ui.console import live_terminal

        return live_terminal(self.stderr_isatty, self.environ)

    @cached_property
    def stderr_console(self):
        from cart_cli.cli.ui.console import make_console

        return make_console(self.stderr, self.stderr_isatty, self.environ)

    @cached_property
    def stdout_console(self):
        from cart_cli.cli.ui.console import make_console

        return make_console(self.stdout, self.stdout_isatty, self.environ, piped_width=True)

    def say_error(self, message: str) -> None:
        """``message`` may hold data (a server's description, a file name): made safe."""
        from rich.markup import escape

        from cart_cli.wire.text import safe

        self.stderr_console.print(f"[bold red]error:[/] {escape(safe(message, lines=True))}")

    def write_json(self, doc: dict) -> None:
        """A JSON document on stdout (a command's goes through state.Invocation.print_json,
        which remembers that the run's one document is written)."""
        import json

        self.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
        self.stdout.flush()

    def print_result(self, renderable) -> None:
        """A table on stdout; piped, without the trailing spaces rich pads cells with."""
        console = self.stdout_console
        if self.stdout_isatty:
            console.print(renderable)
        else:
            from cart_cli.cli.ui.console import strip_trailing

            with console.capture() as captured:
                console.print(renderable)
            self.stdout.write(strip_trailing(captured.get()))
        self.stdout.flush()
