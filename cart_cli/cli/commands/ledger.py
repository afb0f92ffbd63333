"""cart-cli ledger: what a batch ledger says, and recording what a person found out about an
order whose outcome was unknown (no hand-editing of JSON Lines)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from cart_cli.cli import options as opt
from cart_cli.core.defaults import LEDGER_DEFAULT
from cart_cli.core.errors import UsageError
from cart_cli.wire.names import Schema

MIN_PREFIX = 4  # of a job id given to `ledger resolve`: fewer would pick a job by chance

TITLES = {
    "unknown": "Unknown: may have been placed, check before retrying",
    "not_placed": "Not placed",
    "placed": "Placed",
}


class _ListByDefault(TyperGroup):
    """`cart-cli ledger FILE` means `cart-cli ledger list FILE`; `cart-cli ledger` lists the
    default ledger."""

    def parse_args(self, ctx, args):
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = ["list", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_ListByDefault,
    help="What a batch ledger says; record what became of an unknown outcome.",
    no_args_is_help=False,
)


def _read(path: Path):
    from cart_cli.core import ledger as ledgers

    if not path.exists():
        raise UsageError(f"no ledger at {path}")
    contents = ledgers.read(path)
    if contents.foreign:
        raise UsageError(f"{path} is not a cart-cli ledger (its first line is not a ledger line)")
    return contents


SHOWN_PROBLEMS = 10  # damaged lines named one by one; past this, how many more


@app.command("list")
def list_(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(metavar="[FILE]", help=f"The ledger (default {LEDGER_DEFAULT}).")
    ] = Path(LEDGER_DEFAULT),
    json_out: Annotated[
        bool,
        typer.Option("--json", help="One JSON document on stdout.", rich_help_panel=opt.OUTPUT),
    ] = False,
    debug: opt.DebugOpt = False,
) -> int:
    """List the ledger's orders by status: unknown first, then not placed, then placed."""
    env = opt.environment(ctx)
    if json_out:
        opt.run_state(ctx).json_doc = lambda e: {
            "schema": Schema.LEDGER,
            "ok": False,
            "error": e.to_dict(),
        }
    contents = _read(file)
    groups = contents.by_state()
    if json_out:
        opt.print_json(
            ctx,
            {
                "schema": Schema.LEDGER,
                "file": str(file),
                "counts": {k: len(v) for k, v in groups.items()},
                "old_lines": contents.old_lines,
                "bad_lines": contents.bad_lines,
                "problems": [{"line": n, "problem": why} for n, why in contents.problems],
                **{k: [_brief(r) for r in v] for k, v in groups.items()},
            },
        )
        return 0
    err = env.stderr_console
    if contents.old_lines:
        err.print(f"{contents.old_lines} line(s) from an older cart-cli, not listed", markup=False)
    for number, why in contents.problems[:SHOWN_PROBLEMS]:
        err.print(f"{file}:{number}: {why}, skipped", markup=False)
    if len(contents.problems) > SHOWN_PROBLEMS:
        more = len(contents.problems) - SHOWN_PROBLEMS
        err.print(f"... and {more} more unreadable line(s) skipped", markup=False)
    _print_listing(env.stdout, file, contents, groups)
    env.stdout.flush()
    if groups["unknown"]:
        say_how_to_resolve(err, file)
    return 0


def say_how_to_resolve(err, ledger: Path) -> None:
    """What to do with unknown outcomes, with the commands to copy."""
    import shlex

    where = "" if str(ledger) == LEDGER_DEFAULT else f" --ledger {shlex.quote(str(ledger))}"
    err.print(
        "Look each one up with the merchant, then record what you found, and --resume:",
        markup=False,
    )
    err.print(
        f"  cart-cli ledger resolve JOB{where} --placed ORDER_NUMBER\n"
        f"  cart-cli ledger resolve JOB{where} --not-placed",
        markup=False,
    )


def _print_listing(out, file: Path, contents, groups: dict[str, list[dict]]) -> None:
    """Two lines an order, ids whole (they are copied from here), grouped by state."""

    from cart_cli.wire.text import safe

    def line(text: str) -> None:
        out.write(safe(text) + "\n")  # names, merchants, ids: data

    counts = ", ".join(f"{len(groups[k])} {k.replace('_', ' ')}" for k in TITLES)
    line(f"{file}: {len(contents.jobs)} orders ({counts})")
    for state, title in TITLES.items():
        if not groups[state]:
            continue
        out.write("\n")  # a blank line: not through safe(), which would show it as \\n
        line(f"{title} ({len(groups[state])}):")
        for r in groups[state]:
            what = f"order {r['order_number']}" if r.get("order_number") else r.get("code") or ""
            if r.get("event") == "resolved":
                what = f"{what} (resolved by hand)".strip()
            line(f"  {r['job']}  {r.get('name')}  {r.get('merchant')}  {what}".rstrip())
            labels = (("request id", "request_id"), ("cart id", "cart_id"), ("at", "at"))
            details = [f"{label} {r[key]}" for label, key in labels if r.get(key)]
            line("      " + "  ".join(details))


def _brief(rec: dict) -> dict:
    keys = ("job", "name", "merchant", "order_number", "request_id", "cart_id", "code", "at")
    return {
        **{k: rec.get(k) for k in keys},
        "state": rec["state"],
        "source": rec.get("source"),
        "target": rec.get("target"),
    }


def find(contents, key: str) -> dict:
    """A job by id, unique id prefix, or FILE#INDEX[@REPEAT] (FILE as any path to it)."""
    import os

    if "#" in key:
        file, _, rest = key.rpartition("#")
        index, _, repeat = rest.partition("@")
        real = os.path.realpath(file)
        matches = [
            r
            for r in contents.jobs.values()
            if r["source"].get("path") == real
            and str(r["source"].get("index")) == index
            and str(r["source"].get("repeat")) == (repeat or "0")
        ]
    else:
        if len(key.strip()) < MIN_PREFIX:
            raise UsageError(
                f"job {key!r} is too short: give at least {MIN_PREFIX} characters of the job id "
                "(see cart-cli ledger FILE), or FILE#INDEX"
            )
        matches = [r for j, r in contents.jobs.items() if j.startswith(key.strip().lower())]
    if not matches:
        raise UsageError(f"no job {key!r} in the ledger (see cart-cli ledger FILE)")
    if len(matches) > 1:
        names = ", ".join(r["job"] for r in matches[:5])
        raise UsageError(f"{key!r} matches {len(matches)} jobs ({names}...): give more of it")
    return matches[0]


@app.command("resolve")
def resolve(
    ctx: typer.Context,
    job: Annotated[
        str,
        typer.Argument(
            metavar="JOB",
            help="A job id (or its first characters), or FILE#INDEX (FILE#INDEX@REPEAT for a "
            "repeat).",
        ),
    ],
    placed: Annotated[
        str | None,
        typer.Option(metavar="ORDER_NUMBER", help="The merchant has it, as this order number."),
    ] = None,
    not_placed: Annotated[
        bool, typer.Option("--not-placed", help="The merchant has no such order.")
    ] = False,
    ledger: Annotated[Path, typer.Option(metavar="FILE", help="The ledger.")] = Path(
        LEDGER_DEFAULT
    ),
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Overrule what the ledger recorded: a placed order as not placed, or another "
            "order number.",
        ),
    ] = False,
    debug: opt.DebugOpt = False,
) -> int:
    """Record what became of an order (say, one whose outcome was unknown): placed or not.

    Placed: --resume skips it. Not placed: --resume and --retry-not-placed send it again."""
    from cart_cli.core import ledger as ledgers

    err = opt.environment(ctx).stderr_console
    if bool(placed and placed.strip()) == not_placed:
        raise UsageError("say what you found: --placed ORDER_NUMBER or --not-placed")
    if not ledger.exists():
        raise UsageError(f"no ledger at {ledger}")
    book = ledgers.Ledger(ledger, clock=opt.environment(ctx).clock)  # ours, or refused
    busy = (
        f"the ledger {ledger} is in use by a batch run: its orders are still in flight; "
        "resolve them once it has finished"
    )
    with book.held(busy):  # what the ledger says cannot change under us
        record = find(book.read(), job)
        number = placed.strip() if placed else None
        if not force:
            _check_overrule(record, number, ledger)
        line = book.resolve(record, number)
    outcome = f"placed as {placed.strip()}" if placed else "not placed"
    was = record["state"].replace("_", " ")
    err.print(
        f"{record['job']} ({record.get('name')}): recorded as {outcome} (was {was})",
        markup=False,
    )
    if line["was"] == ledgers.PLACED and not placed:
        err.print("note: it was recorded as placed; --resume will now send it again", markup=False)
    return 0


def _check_overrule(record: dict, number: str | None, ledger: Path) -> None:
    """Refuse to contradict what the ledger recorded (placed, or as which order number) without
    --force: a placed order turned "not placed" is sent again by the next --resume."""
    recorded = record.get("order_number")
    name = f"{record['job']} ({record.get('name')})"
    if record["state"] == "placed" and number is None:
        as_order = f" as order {recorded}" if recorded else ""
        raise UsageError(
            f"{name} is recorded in {ledger} as placed{as_order}: marking it not placed would "
            "make --resume send it again. If the merchant really has no such order, pass --force"
        )
    if number is not None and recorded and recorded != number:
        raise UsageError(
            f"{name} is recorded in {ledger} as order {recorded}, not {number}: check the "
            f"order number, or pass --force to record it as placed as {number}"
        )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="ledger")
