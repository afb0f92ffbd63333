"""cart-cli validate: every check of an order, no network."""

from __future__ import annotations

from typing import Annotated

import typer

from cart_cli.cli import common as c


def validate(
    files: Annotated[
        list[str],
        typer.Argument(
            metavar="FILE...",
            help="Order files or directories (*.yaml, *.yml); multi-order files too.",
        ),
    ],
    debug: c.DebugOpt = False,
) -> None:
    """Check order files without sending anything; name file, field and line of each problem."""
    c.setup_logging(debug)
    with c.guarded(c.Guard(debug=debug)):
        from cart_cli.core.batch import collect

        for source in collect(files):
            n = len(source.orders)
            typer.echo(f"{source.file}: ok ({n} order{'s' if n != 1 else ''})")


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
