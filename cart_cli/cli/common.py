"""What every command shares: where to send, how to fail, and the options for both."""

from __future__ import annotations

import enum
import functools
import inspect
import logging
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

import typer

from cart_cli.core import defaults
from cart_cli.core.errors import (
    NOT_PLACED,
    UNKNOWN,
    CartError,
    Exit,
    Interrupted,
    UsageError,
)

WHERE = "Where to send"
OUTPUT = "Output"

ApiUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--api-url",
        envvar="CART_CLI_API_URL",
        rich_help_panel=WHERE,
        help=f"API base URL (session, carts). Default: {defaults.DEFAULT_API_URL}",
    ),
]
PaymentUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--payment-url",
        envvar="CART_CLI_PAYMENT_URL",
        rich_help_panel=WHERE,
        help=f"Payment base URL (key, orders). Default: {defaults.DEFAULT_PAYMENT_URL}",
    ),
]
AppIdOpt = Annotated[
    str | None,
    typer.Option(
        "--app-id", envvar="CART_CLI_APP_ID", rich_help_panel=WHERE, help="Firmly application id."
    ),
]
SandboxOpt = Annotated[
    bool,
    typer.Option(
        "--sandbox",
        rich_help_panel=WHERE,
        help="Start the embedded sandbox on a free port and use it.",
    ),
]
SandboxLatencyOpt = Annotated[
    float,
    typer.Option(
        "--sandbox-latency",
        min=0,
        max=30,
        rich_help_panel=WHERE,
        help="With --sandbox: seconds before each step.",
    ),
]
SandboxFaultOpt = Annotated[
    str | None,
    typer.Option(
        "--sandbox-fault",
        rich_help_panel=WHERE,
        metavar="NAME[:ARG]",
        help="With --sandbox: a scripted failure for the whole run.",
    ),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=0.1,
        metavar="SECONDS",
        rich_help_panel=WHERE,
        help=f"Bound on connecting and on each read. Default: {defaults.CONNECT_TIMEOUT:g} "
        f"connect, {defaults.READ_TIMEOUT:g} read ({defaults.ORDER_READ_TIMEOUT:g} for an order "
        "call that answers only when done: --no-sse, complete-order).",
    ),
]
CaBundleOpt = Annotated[
    str | None,
    typer.Option(
        "--ca-bundle",
        metavar="FILE",
        rich_help_panel=WHERE,
        help="CA certificates to trust (private CAs). TLS is always verified.",
    ),
]
HeaderOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--header",
        "-H",
        metavar="'NAME: VALUE'",
        rich_help_panel=WHERE,
        help="Extra header on every request (repeatable), e.g. 'x-sandbox-fault: drip'.",
    ),
]


class FlowName(str, enum.Enum):
    place_order = "place-order"
    cart = "cart"


FlowOpt = Annotated[
    FlowName | None,
    typer.Option(
        "--flow",
        metavar="place-order|cart",
        help="How to place: one place-order call, or the cart calls then complete-order. "
        "Default: the order's flow:, else $CART_CLI_FLOW, else place-order.",
    ),
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", rich_help_panel=OUTPUT, help="No progress output.")
]
DebugOpt = Annotated[
    bool,
    typer.Option(
        "--debug",
        rich_help_panel=OUTPUT,
        help="Log requests (secrets redacted) and show tracebacks.",
    ),
]


@dataclass
class Target:
    """Where a command sends: the "Where to send" options, as one value."""

    api_url: str | None = None
    payment_url: str | None = None
    app_id: str | None = None
    sandbox: bool = False
    sandbox_latency: float = 0.0
    sandbox_fault: str | None = None
    timeout: float | None = None
    ca_bundle: str | None = None
    header: list[str] | None = None


_TARGET_OPTIONS = {
    "api_url": ApiUrlOpt,
    "payment_url": PaymentUrlOpt,
    "app_id": AppIdOpt,
    "sandbox": SandboxOpt,
    "sandbox_latency": SandboxLatencyOpt,
    "sandbox_fault": SandboxFaultOpt,
    "timeout": TimeoutOpt,
    "ca_bundle": CaBundleOpt,
    "header": HeaderOpt,
}


def target_options(command):
    """Give a command the "Where to send" options; it receives them as ``target: Target``."""
    own = inspect.signature(command, eval_str=True)
    defaults = Target()
    extra = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=annotation,
            default=getattr(defaults, name),
        )
        for name, annotation in _TARGET_OPTIONS.items()
    ]
    params = [p for p in own.parameters.values() if p.name != "target"] + extra

    @functools.wraps(command)
    def wrapper(**kwargs):
        target = Target(**{name: kwargs.pop(name) for name in _TARGET_OPTIONS})
        return command(target=target, **kwargs)

    wrapper.__signature__ = own.replace(parameters=params)
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


def flow_choice(flag: FlowName | None):
    """--flow, else the order's flow:, else $CART_CLI_FLOW (checked here), else place-order."""
    import os

    from cart_cli.core.checkout import FlowChoice

    return FlowChoice(
        flag=flag.value if flag else None, env=os.environ.get("CART_CLI_FLOW") or None
    )


def parse_headers(values: list[str]) -> dict:
    out = {}
    for v in values:
        name, sep, value = v.partition(":")
        if not sep or not name.strip():
            raise UsageError(f"--header {v!r} must look like 'Name: value'")
        out[name.strip()] = value.strip()
    return out


@contextmanager
def open_client(target: Target, pool_size: int = 10) -> Iterator:
    """A Client for the target; with --sandbox, an embedded sandbox lives as long as it does."""
    from cart_cli.core.client import Client, Endpoints
    from cart_cli.core.tokencache import TokenCache

    headers = parse_headers(target.header or [])
    sandbox = None
    if target.sandbox:
        from cart_cli.sandbox import Sandbox

        try:
            sandbox = Sandbox(latency=target.sandbox_latency, fault=target.sandbox_fault)
        except ValueError as e:  # the only thing it can refuse here: the fault
            raise UsageError(f"--sandbox-fault: {e}") from None
        sandbox.start()
        endpoints = Endpoints(sandbox.url, sandbox.url, defaults.SANDBOX_APP_ID)
        cache = None  # a throwaway server: its tokens are worth nothing after this run
    else:
        endpoints = Endpoints(
            target.api_url or defaults.DEFAULT_API_URL,
            target.payment_url or defaults.DEFAULT_PAYMENT_URL,
            target.app_id or "",
        )
        cache = TokenCache()
    timeout = (
        (target.timeout,) * 2
        if target.timeout
        else (defaults.CONNECT_TIMEOUT, defaults.READ_TIMEOUT)
    )
    try:
        client = Client(
            endpoints,
            timeout=timeout,
            ca_bundle=target.ca_bundle,
            token_cache=cache,
            extra_headers=headers,
            pool_size=pool_size,
            order_read_timeout=target.timeout or defaults.ORDER_READ_TIMEOUT,
        )
        try:
            yield client
        finally:
            client.close()
    finally:
        if sandbox is not None:
            sandbox.stop()


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (tests swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


_handler = _StderrHandler()
_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))


def setup_logging(debug: bool) -> None:
    root = logging.getLogger()
    if debug:
        if _handler not in root.handlers:
            root.addHandler(_handler)
        root.setLevel(logging.DEBUG)
    else:
        if _handler in root.handlers:
            root.removeHandler(_handler)
        root.setLevel(logging.WARNING)


def say_error(message: str) -> None:
    from cart_cli.cli.render import stderr_console

    stderr_console().print(f"[bold red]error:[/] {_escape(message)}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


@dataclass
class Guard:
    """State the error handler needs: did the order leave, and how to report in --json."""

    debug: bool = False
    submitted: bool = False
    json_doc: object = None  # callable(CartError) -> dict, for --json failures


@contextmanager
def guarded(guard: Guard) -> Iterator[Guard]:
    """One clear message and a documented exit code for every failure; a traceback only with
    --debug."""
    try:
        yield guard
    except typer.Exit:
        raise
    except (CartError, KeyboardInterrupt) as e:
        if isinstance(e, KeyboardInterrupt):  # Ctrl-C, or SIGTERM where a command maps it
            e = Interrupted(
                "interrupted after the order was sent" if guard.submitted else "interrupted",
                outcome=UNKNOWN if guard.submitted else NOT_PLACED,
            )
        elif guard.debug:
            traceback.print_exc()
        say_error(e.describe())
        if guard.json_doc:
            from cart_cli.cli.render import print_json

            print_json(guard.json_doc(e))
        raise typer.Exit(int(e.exit_code)) from None
    except Exception:
        if guard.debug:
            traceback.print_exc()
        say_error(
            "internal error (a bug in cart-cli). Run again with --debug for a traceback, "
            "and report it."
        )
        raise typer.Exit(int(Exit.INTERNAL)) from None
