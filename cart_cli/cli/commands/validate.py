"""cart-cli validate: every check of an order, no network."""

from __future__ import annotations

from typing import Annotated

import typer

from cart_cli.cli import options as opt
from cart_cli.wire.names import Schema
from cart_cli.wire.text import safe


def validate(
    ctx: typer.Context,
    files: Annotated[
        list[str],
        typer.Argument(
            metavar="FILE...",
            help="Order files or directories (*.yaml, *.yml); multi-order files too.",
        ),
    ],
    json_out: Annotated[
        bool,
        typer.Option(
            "--json",
            help="One JSON document on stdout: each file, its orders, its problems with line "
            "numbers (for editors and pre-commit hooks).",
            rich_help_panel=opt.OUTPUT,
        ),
    ] = False,
    debug: opt.DebugOpt = False,
) -> int:
    """Check order files without sending anything; name file, field and line of each problem."""
    from cart_cli.core.batch import collect

    env = opt.environment(ctx)
    if json_out:
        opt.run_state(ctx).json_doc = lambda e: {
            "schema": SCHEMA,
            "ok": False,
            "error": e.to_dict(),
        }
        doc = _validate_json(env, files)
        opt.print_json(ctx, doc)
        return 0 if doc["ok"] else 2
    for source in collect(files, env.order_inputs()):
        n = len(source.orders)
        env.stdout.write(safe(f"{source.file}: ok ({n} order{'s' if n != 1 else ''})") + "\n")
    return 0


SCHEMA = Schema.VALIDATE


def _validate_json(env, files: list[str]) -> dict:
    """Every file judged on its own, so one bad file does not hide another's result."""
    from dataclasses import asdict

    from cart_cli.core.batch import expand
    from cart_cli.core.errors import OrderInvalid
    from cart_cli.core.order import load_orders

    results = []
    inputs = env.order_inputs()
    for path in expand(files):
        try:
            orders = load_orders(path, inputs=inputs)
        except OrderInvalid as e:
            problems = [asdict(p) for p in e.problems]
            results.append({"file": str(path), "ok": False, "orders": 0, "problems": problems})
        else:
            results.append({"file": str(path), "ok": True, "orders": len(orders), "problems": []})
    return {"schema": SCHEMA, "ok": all(r["ok"] for r in results), "files": results}


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
