"""cart-cli sandbox: run the local merchant API in the foreground."""

from __future__ import annotations

import contextlib
import signal
from typing import Annotated

import typer

from cart_cli.cli import options as opt


def sandbox(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: a free one).")] = 8787,
    latency: Annotated[
        float,
        typer.Option(
            min=0, max=30, help="Seconds before each step of place-order, and each cart call."
        ),
    ] = 0.0,
    catalog: Annotated[
        str | None,
        typer.Option(
            metavar="FILE", help="Merchants and products YAML, replacing the built-in ones."
        ),
    ] = None,
    token_ttl: Annotated[int, typer.Option(min=1, help="Token lifetime, seconds.")] = 3600,
    app_id: Annotated[
        list[str] | None,
        typer.Option(
            "--app-id",
            metavar="ID",
            help="Accept only these application ids (repeatable). Default: any non-empty one.",
        ),
    ] = None,
    keep_orders: Annotated[
        int,
        typer.Option(
            min=0,
            metavar="N",
            help="Orders kept for GET /__sandbox/orders; older ones are dropped "
            "(stock and order numbers are unaffected).",
        ),
    ] = 10_000,
    fault: Annotated[
        str | None,
        typer.Option(
            metavar="NAME[:ARG]",
            help="A scripted failure for every request (see docs/sandbox.md, Faults).",
        ),
    ] = None,
    cors: Annotated[
        list[str] | None,
        typer.Option(
            "--cors",
            metavar="ORIGIN",
            help="Let browser pages from ORIGIN (e.g. https://shop.example) call the sandbox "
            "(repeatable; '*' for any). Pages on a loopback address always may.",
        ),
    ] = None,
    debug: opt.DebugOpt = False,
) -> None:
    """Serve the sandbox merchant API (api and payment roles on one port) until Ctrl-C."""
    from cart_cli.core.errors import UsageError
    from cart_cli.core.guard import is_loopback
    from cart_cli.sandbox import Sandbox
    from cart_cli.sandbox.app import stderr_log
    from cart_cli.wire.clock import epoch_clock

    if not is_loopback(host) and not app_id:
        raise UsageError(
            f"--host {host} is not a loopback address: anyone who can reach it could use "
            "the sandbox, so pass --app-id ID (repeatable) to say which application ids "
            "it accepts"
        )

    env = opt.environment(ctx)
    try:
        server = Sandbox(
            host=host,
            port=port,
            latency=latency,
            catalog=catalog,
            token_ttl=token_ttl,
            fault=fault,
            log=stderr_log,
            app_ids=frozenset(app_id) if app_id else None,
            clock=epoch_clock(env.clock),  # the run's: CART_CLI_NOW moves it too
            keep_orders=keep_orders,
            cors=tuple(_origin(o) for o in cors or ()),
        )
    except ValueError as e:  # a bad --fault or --catalog
        raise UsageError(str(e)) from None
    except OSError as e:
        raise UsageError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    stderr_log(f"sandbox listening on {server.url} (api and payment); Ctrl-C stops it")
    # uvicorn shuts down gracefully on Ctrl-C or SIGTERM, then re-raises the signal: both are
    # a normal stop (SIGTERM is how a CI service container is stopped), so both exit 0.
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    finally:
        signal.signal(signal.SIGTERM, previous)
    stderr_log("sandbox stopped")
    return 0


def _origin(text: str) -> str:
    """A --cors value: '*' or scheme://host[:port], as browsers send Origin."""
    from urllib.parse import urlsplit

    from cart_cli.core.errors import UsageError

    text = text.strip().rstrip("/")
    if text == "*":
        return text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
        raise UsageError(
            f"--cors {text!r}: give an origin as browsers send it, like https://shop.example "
            "or http://localhost:5173 (or '*')"
        )
    return text


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt


def register(app: typer.Typer) -> None:
    app.command("sandbox")(sandbox)
