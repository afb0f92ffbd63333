"""cart-cli orders: the local history of finished orders (list, show)."""

from __future__ import annotations

from typing import Annotated

import typer

from cart_cli.cli import options as opt
from cart_cli.cli.ui import messages as msg
from cart_cli.core.errors import UsageError
from cart_cli.wire.names import Schema

app = typer.Typer(
    name="orders",
    help="Orders placed (or tried) from this machine: the local history.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


LIMIT = 100  # orders list shows the last 100 unless told


def _history(env):
    from cart_cli.core.history import History

    return History(env.data_dir)


@app.command("list")
def list_(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(metavar="WHEN", help="Only since a date (2026-11-28) or an age (3d, 12h)."),
    ] = None,
    merchant: Annotated[
        str | None,
        typer.Option(
            metavar="DOMAIN",
            help="Only this merchant.",
            autocompletion=lambda incomplete: opt.complete_merchants(incomplete),
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="Only orders sent with this profile.",
            autocompletion=lambda incomplete: opt.complete_profiles(incomplete),
        ),
    ] = None,
    limit: Annotated[
        int,
        typer.Option(
            metavar="N", min=0, help="Only the last N that match (0: all).", show_default=True
        ),
    ] = LIMIT,
    json_out: opt.JsonOpt = False,
    debug: opt.DebugOpt = False,
) -> int:
    """Finished orders, oldest first: when, number, merchant, outcome, total, target."""
    from rich.table import Table

    from cart_cli.core.errors import NOT_PLACED
    from cart_cli.core.history import parse_since
    from cart_cli.wire.money import fmt

    env = opt.environment(ctx)
    history = _history(env)
    when = parse_since(since, env.now()) if since else None
    records, matching = history.select(since=when, merchant=merchant, profile=profile, limit=limit)
    say_problems(env, history)
    if json_out:
        opt.print_json(
            ctx,
            {
                "schema": Schema.ORDERS,
                "history": str(history.path),
                "matching": matching,
                "orders": records,
            },
        )
        return 0
    from rich import box

    # Light lines, and on a narrow terminal no Target column: the time, the number and the
    # total stay whole; merchant and outcome fold.
    wide = env.stdout_console.width >= 100
    from cart_cli.cli.ui.console import data_text

    table = Table(
        title=data_text(f"Orders ({history.path})"),
        title_justify="left",
        box=box.SIMPLE,
        pad_edge=False,
    )
    table.add_column("When (UTC)", no_wrap=True)
    table.add_column("Number", no_wrap=True)
    table.add_column("Merchant", overflow="fold", min_width=10)
    table.add_column("Outcome", overflow="fold", min_width=8)
    table.add_column("Total", justify="right", no_wrap=True)
    if wide:
        table.add_column("Target", overflow="fold")
    for r in records:
        t = r.get("target") or {}
        where = t.get("profile") or _host(t.get("api_url"))
        if t.get("production"):
            where = f"[bold red]PRODUCTION[/] {msg.escape(where or '')}"
        else:
            where = msg.escape(where or "")
        outcome = r.get("outcome") or ""
        if r.get("error"):  # the error says more than "not_placed"
            code = r["error"].get("code")
            outcome = code if outcome == NOT_PLACED else f"{outcome} ({code})"
        table.add_row(  # data as text, never markup (the console makes every cell safe)
            data_text(str(r.get("at", ""))[0 if wide else 5 : 16].replace("T", " ")),
            data_text(r.get("order_number") or "-"),
            data_text(r.get("merchant", "")),
            msg.escape(str(outcome)),
            data_text(fmt(r.get("total_cents"), r.get("currency") or "USD"))
            if r.get("total_cents") is not None
            else "",
            *([where] if wide else []),
        )
    env.print_result(table)
    if not records:
        env.stderr_console.print("no orders in the history match", markup=False)
    elif matching > len(records):
        env.stderr_console.print(
            f"the last {len(records)} of {matching} orders that match; --limit 0 shows all",
            markup=False,
        )
    return 0


def _host(url: str | None) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url or "").netloc


@app.command("show")
def show(
    ctx: typer.Context,
    order_number: Annotated[str, typer.Argument(metavar="ORDER_NUMBER")],
    json_out: opt.JsonOpt = False,
    debug: opt.DebugOpt = False,
) -> int:
    """An order's receipt again, from what the API answered when it was placed."""
    from cart_cli.cli.ui.receipt import receipt
    from cart_cli.core.config import Resolved

    env = opt.environment(ctx)
    history = _history(env)
    found = history.find(order_number.strip())
    say_problems(env, history)
    if not found:
        raise UsageError(
            f"no order {order_number} in the history ({history.path})",
            hint="cart-cli orders list shows what it holds.",
        )
    rec = found[-1]
    if json_out:
        opt.print_json(ctx, rec)
        return 0
    t = rec.get("target") or {}
    info = Resolved(
        api_url=t.get("api_url") or "",
        payment_url=t.get("payment_url") or "",
        app_id=t.get("app_id") or "",
        profile=t.get("profile"),
        production=bool(t.get("production")),
    )
    env.print_result(
        receipt(
            rec.get("order") or {},
            rec.get("merchant", ""),
            target=info.describe(),
            request_id=rec.get("request_id"),
        )
    )
    note = f"placed {rec.get('at')}"
    if len(found) > 1:
        note += f"; {len(found)} orders in the history have this number (this is the latest)"
    env.stderr_console.print(note, markup=False)
    return 0


def register(root: typer.Typer) -> None:
    root.add_typer(app)


SHOWN_PROBLEMS = 10  # damaged lines named one by one; past this, how many more


def say_problems(env, history) -> None:
    """The history's lines that could not be read (a crash tears one, a person edits one): each
    with its file and line, on stderr; they are skipped, never fatal."""
    err = env.stderr_console
    for problem in history.problems[:SHOWN_PROBLEMS]:
        err.print(f"note: {problem}", markup=False)
    if len(history.problems) > SHOWN_PROBLEMS:
        more = len(history.problems) - SHOWN_PROBLEMS
        err.print(f"note: ... and {more} more unreadable line(s) skipped", markup=False)
