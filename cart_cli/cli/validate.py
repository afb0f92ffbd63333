"""cart-cli validate: every check of an order, no network."""

from __future__ import annotations

from typing import Annotated

import typer

from cart_cli.cli import common as c


def validate(
    ctx: typer.Context,
    files: Annotated[
        list[str],
        typer.Argument(
            metavar="FILE",
            help="Order files or directories (*.yaml, *.yml); multi-order files too.",
        ),
    ],
    debug: c.DebugOpt = False,
) -> int:
    """Check order files without sending anything; name file, field and line of each problem."""
    from cart_cli.core.batch import collect

    env = c.environment(ctx)
    for source in collect(files, env.order_inputs()):
        n = len(source.orders)
        env.stdout.write(f"{source.file}: ok ({n} order{'s' if n != 1 else ''})\n")
    return 0


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
