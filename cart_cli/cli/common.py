"""What every command shares: where to send, how to fail, and the options for both."""

from __future__ import annotations

import enum
import functools
import inspect
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated

import typer

from cart_cli.cli.env import Environment
from cart_cli.core import defaults
from cart_cli.core.errors import UsageError

WHERE = "Where to send"
OUTPUT = "Output"


def setup_logging(env: Environment, debug: bool) -> None:
    """--debug: log records (requests, secrets redacted) on the run's stderr; else warnings only."""
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, "cart_cli", False)]:
        root.removeHandler(h)
    if debug:
        handler = logging.StreamHandler(env.stderr)
        handler.cart_cli = True
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.WARNING)


def environment(ctx: typer.Context) -> Environment:
    """The run's Environment (made once in main(); made here if a command runs without it)."""
    env = ctx.find_object(Environment)
    if env is None:
        env = ctx.find_root().obj = Environment.from_process()
    return env


def _debug(ctx: typer.Context, value: bool) -> bool:
    """--debug: the run's Environment takes it (logging, tracebacks) as soon as it is parsed."""
    env = environment(ctx)
    env.guard.debug = value
    setup_logging(env, value)
    return value


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
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        "-P",
        envvar="CART_CLI_PROFILE",
        metavar="NAME",
        rich_help_panel=WHERE,
        autocompletion=lambda incomplete: _complete("profiles", incomplete),
        help="A named target from the config file (cart-cli profile list). Flags and their "
        "variables override its fields.",
    ),
]
AllowHttpOpt = Annotated[
    bool,
    typer.Option(
        "--allow-http",
        rich_help_panel=WHERE,
        help="Allow plain http to a non-loopback host (a CI service container), with a warning.",
    ),
]
YesOpt = Annotated[
    bool,
    typer.Option(
        "--yes",
        "-y",
        rich_help_panel=WHERE,
        help="Against production: go ahead without typing the merchant domain (scripts, CI).",
    ),
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", rich_help_panel=OUTPUT, help="No progress output.")
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="One JSON document on stdout.", rich_help_panel=OUTPUT)
]
DebugOpt = Annotated[
    bool,
    typer.Option(
        "--debug",
        rich_help_panel=OUTPUT,
        is_eager=True,
        callback=_debug,
        help="Log requests (secrets redacted) and show tracebacks.",
    ),
]


def _complete(what: str, incomplete: str) -> list[str]:
    from cart_cli.cli import target

    return getattr(target, f"complete_{what}")(incomplete)


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
    profile: str | None = None
    allow_http: bool = False
    resolved: object = field(default=None, repr=False)  # config.Resolved, once resolved


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
    "profile": ProfileOpt,
    "allow_http": AllowHttpOpt,
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


def flow_choice(env: Environment, flag: FlowName | None, profile: str | None = None):
    """--flow, else the order's flow:, else $CART_CLI_FLOW (checked here), else the profile's
    flow, else place-order."""
    from cart_cli.core.checkout import FlowChoice

    return FlowChoice(
        flag=flag.value if flag else None,
        env=env.environ.get("CART_CLI_FLOW") or None,
        profile=profile,
    )


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def parse_headers(values: list[str]) -> dict:
    """``Name: value`` pairs. The value is never repeated in a message (it may be a secret)."""
    out = {}
    for v in values:
        name, sep, value = v.partition(":")
        name = name.strip()
        if not sep or not name:
            raise UsageError("--header must look like 'Name: value' (a colon after the name)")
        if not _TOKEN.fullmatch(name):
            raise UsageError(
                f"--header {name[:40]!r}: a header name is letters, digits and -_. only"
            )
        if any(ch in value for ch in "\r\n\0"):
            raise UsageError(
                f"--header {name}: the value contains a line break or NUL; give one line"
            )
        out[name] = value.strip()
    return out


@contextmanager
def open_client(
    env: Environment, target: Target, pool_size: int = 10, *, token_cache: bool = True
) -> Iterator:
    """A Client for the target; with --sandbox, an embedded sandbox lives as long as it does."""
    from cart_cli.cli.target import resolve, warn_plain_http
    from cart_cli.core.client import Client, Endpoints
    from cart_cli.core.tokencache import TokenCache

    headers = parse_headers(target.header or [])
    info = resolve(env, target)
    sandbox = None
    if target.sandbox:
        from cart_cli.sandbox import Sandbox

        try:
            sandbox = Sandbox(
                latency=target.sandbox_latency,
                fault=target.sandbox_fault,
                quiet=not env.guard.debug,  # --debug shows what the sandbox logs
            )
        except ValueError as e:  # the only thing it can refuse here: the fault
            raise UsageError(f"--sandbox-fault: {e}") from None
        sandbox.start()
        info.api_url = info.payment_url = sandbox.url
        endpoints = Endpoints(sandbox.url, sandbox.url, defaults.SANDBOX_APP_ID)
        cache = None  # a throwaway server: its tokens are worth nothing after this run
    else:
        endpoints = Endpoints(info.api_url, info.payment_url, info.app_id, info.allow_http)
        if info.allow_http:
            warn_plain_http(env, info)
        cache = TokenCache(env.cache_dir) if token_cache else None
    timeout = (
        (target.timeout,) * 2
        if target.timeout
        else (defaults.CONNECT_TIMEOUT, defaults.READ_TIMEOUT)
    )
    try:
        client = Client(
            endpoints,
            timeout=timeout,
            ca_bundle=info.ca_bundle,
            token_cache=cache,
            extra_headers=headers,
            pool_size=pool_size,
            order_read_timeout=target.timeout or defaults.ORDER_READ_TIMEOUT,
            environ=env.environ,
            clock=lambda: env.now().timestamp(),
        )
        try:
            yield client
        finally:
            client.close()
    finally:
        if sandbox is not None:
            sandbox.stop()
