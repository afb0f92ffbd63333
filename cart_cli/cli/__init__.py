"""The command line: typer app; one module per command. Heavy libraries load inside commands."""

from __future__ import annotations

import typer

from cart_cli import __version__
from cart_cli.core.errors import EXIT_MEANING

app = typer.Typer(
    name="cart-cli",
    help="Place test orders against Firmly's Simple Cart API, or its local sandbox.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Exit codes: " + "; ".join(f"{int(c)} {m}" for c, m in EXIT_MEANING.items()) + ".",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cart-cli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """Place test orders against Firmly's Simple Cart API, or its local sandbox."""


def _register() -> None:
    from cart_cli.cli import batch, cart, ledger, place, sandbox, validate

    for module in (place, validate, batch, cart, ledger, sandbox):
        module.register(app)


_register()


def main() -> None:
    app()
