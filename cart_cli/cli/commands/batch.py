"""cart-cli batch: many orders at once, for CI smoke tests and scripted runs."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from cart_cli.cli import options as opt
from cart_cli.cli import target as tg
from cart_cli.cli.target import Target
from cart_cli.cli.ui import messages as msg
from cart_cli.core.defaults import LEDGER_DEFAULT
from cart_cli.core.errors import UsageError

RUN = "Running"
REPORTS = "Reports and ledger"
UNKNOWN_LISTED = 20  # on stderr; `cart-cli ledger` lists them all
TABLE_ROWS = 300  # past this many orders, placed ones are listed as plain lines


@Target.options
def batch(
    ctx: typer.Context,
    paths: Annotated[
        list[str],
        typer.Argument(
            metavar="PATH...",
            help="Order files, directories of *.yaml/*.yml, or multi-order files.",
        ),
    ],
    repeat: Annotated[
        int, typer.Option(min=1, max=10_000, help="Place each order N times.", rich_help_panel=RUN)
    ] = 1,
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="Orders in flight.", rich_help_panel=RUN)
    ] = 4,
    shard: Annotated[
        str | None,
        typer.Option(
            metavar="I/N",
            help="Run only the I-th of N deterministic slices (CI matrix).",
            rich_help_panel=RUN,
        ),
    ] = None,
    fail_fast: Annotated[
        bool, typer.Option(help="Launch no new order after a failure.", rich_help_panel=RUN)
    ] = False,
    rate: Annotated[
        float | None,
        typer.Option(
            min=0.01, metavar="N", help="At most N orders started per second.", rich_help_panel=RUN
        ),
    ] = None,
    flow: opt.FlowOpt = None,
    ledger: Annotated[
        Path,
        typer.Option(
            metavar="FILE",
            help="Append-only record of every order's outcome.",
            rich_help_panel=REPORTS,
        ),
    ] = Path(LEDGER_DEFAULT),
    resume: Annotated[
        bool,
        typer.Option(
            help="Skip orders the ledger says were placed; list those whose outcome is unknown.",
            rich_help_panel=REPORTS,
        ),
    ] = False,
    retry_not_placed: Annotated[
        bool,
        typer.Option(
            help="Run only the orders the ledger records as surely not placed (declined, out "
            "of stock, store down...); skip placed and unknown ones.",
            rich_help_panel=REPORTS,
        ),
    ] = False,
    resume_other_target: Annotated[
        bool,
        typer.Option(
            help="Resume even though the ledger's orders went to another api/payment URL or "
            "app id (the same service under another address).",
            rich_help_panel=REPORTS,
        ),
    ] = False,
    jsonl: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="One result per order, as JSON Lines (- for stdout: the summary table then "
            "goes to stderr).",
            rich_help_panel=REPORTS,
        ),
    ] = None,
    junit: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="JUnit XML, one testcase per order (- for stdout).",
            rich_help_panel=REPORTS,
        ),
    ] = None,
    report_html: Annotated[
        Path | None,
        typer.Option(
            "--report-html",
            metavar="FILE",
            help="A self-contained HTML report: totals, stage waterfalls, timeline, a sortable "
            "table of orders (- for stdout).",
            rich_help_panel=REPORTS,
        ),
    ] = None,
    no_history: Annotated[
        bool,
        typer.Option(
            "--no-history",
            help="Leave these orders out of the local order history (cart-cli orders list).",
            rich_help_panel=REPORTS,
        ),
    ] = False,
    max_orders: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="N",
            help="Launch at most N orders (production needs this or --max-spend).",
            rich_help_panel=RUN,
        ),
    ] = None,
    max_spend: Annotated[
        str | None,
        typer.Option(
            metavar="AMOUNT",
            help="Launch no new order once placed orders total AMOUNT (e.g. 250.00).",
            rich_help_panel=RUN,
        ),
    ] = None,
    json_out: Annotated[
        bool,
        typer.Option(
            "--json", help="A summary JSON document on stdout.", rich_help_panel=opt.OUTPUT
        ),
    ] = False,
    yes: opt.YesOpt = False,
    quiet: opt.QuietOpt = False,
    debug: opt.DebugOpt = False,
) -> int:
    """Place many orders concurrently, with a ledger, resume, shards and reports."""
    from cart_cli.cli.interrupts import TwoStageStop
    from cart_cli.cli.ui.batch import display_for
    from cart_cli.core import ledger as ledgers
    from cart_cli.core import outputs, reports, runner
    from cart_cli.core import plan as planning
    from cart_cli.core.guard import Budget, parse_amount

    env = opt.environment(ctx)
    target = Target.of(ctx)
    sources = planning.collect(paths, env.order_inputs())
    jobs = planning.plan(sources, repeat, planning.parse_shard(shard))
    budget = Budget(max_orders, parse_amount(max_spend) if max_spend else None)
    info = target.resolve(env)
    how = opt.flow_choice(env, flow, profile=info.flow)
    tg.batch_guard(env, info, [j.order for j in jobs], yes=yes, budget=budget)
    outs = outputs.plan_all(
        {"--jsonl": jsonl, "--junit": junit, "--report-html": report_html},
        ledger=ledger,
        inputs=[s.file for s in sources],
        stdout_stat=env.stdout_stat(),
    )
    if json_out and any(o.is_stdout for o in outs.values()):
        o = next(o for o in outs.values() if o.is_stdout)
        raise UsageError(
            f"--json and {o.flag} {o.path} both write to standard output: give {o.flag} a file"
        )
    book = ledgers.Ledger(ledger, clock=env.clock)  # ours, or refused: before anything is sent
    err = env.stderr_console
    listeners = []
    history = None if no_history else tg.HistoryWriter(env, target).record
    spool = reports.Spool()  # full results wait on disk for the reports, not in memory
    timeline = None
    if report_html is not None:
        from cart_cli.core.timing import Timeline

        timeline = Timeline()
    with (
        book.held(),  # one run at a time on a ledger: refused here, before anything is sent
        TwoStageStop(say=lambda text: err.print(text, markup=False)) as signals,
        target.open_client(env, pool_size=concurrency) as client,
    ):
        e = client.endpoints
        book.target = ledgers.make_target(e.api_url, e.payment_url, e.app_id, info.profile)
        prior = None
        if resume or retry_not_placed:
            prior = book.read()
            _check_prior(prior, jobs, book, resume_other_target, err)
        if not quiet:
            msg.say_target(env, info)
        if not quiet:  # the display goes up last: nothing can fail after it now
            # the same console as the messages (Ctrl-C's), so they go above the display
            display = display_for(err, jobs, live=env.stderr_live)
            listeners.append(display)
        try:
            summary = runner.run(
                client,
                jobs,
                concurrency=concurrency,
                ledger=book,
                prior=prior,
                only_not_placed=retry_not_placed,
                fail_fast=fail_fast,
                rate=rate,
                stop=signals.stop,
                abandon=signals.abandon,
                # the spool last: displays see it all
                listeners=[*listeners, *([timeline] if timeline else []), spool],
                flow=how,
                budget=budget if budget.active else None,
                history=history,
            )
        finally:
            for li in listeners:
                li.close()
        summary.target = info.summary()
        try:
            _write_reports(env, summary, outs, spool, timeline)
            _report(env, opt.run_state(ctx), summary, json_out, err, ledger, spool, outs)
        finally:
            spool.close()
    return int(summary.exit_code)


def _check_prior(prior, jobs, book, other_target_ok: bool, err) -> None:
    """Refuse to trust a ledger whose orders went elsewhere; say what it cannot match."""
    from cart_cli.core import ledger as ledgers

    if prior.old_lines:
        err.print(
            f"note: {prior.old_lines} line(s) of {book.path} come from an older cart-cli and "
            "are not matched: the orders they record are not skipped",
            markup=False,
        )
    slots = {
        (r["source"].get("path"), r["source"].get("index"), r["source"].get("repeat")): r
        for r in prior.jobs.values()
        if r["state"] != ledgers.NOT_PLACED
    }
    edited = [j for j in jobs if j.id not in prior.jobs and (j.path, j.index, j.repeat) in slots]
    if edited:
        err.print(
            f"note: {len(edited)} order(s) changed since the ledger recorded them as placed or "
            f"unknown (e.g. {edited[0].name}): they count as new orders and will be sent",
            markup=False,
        )
    elsewhere = [
        prior.jobs[j.id]
        for j in jobs
        if j.id in prior.jobs
        and not ledgers.same_target(prior.jobs[j.id].get("target"), book.target)
    ]
    if elsewhere and not other_target_ok:
        theirs = ledgers.describe_target(elsewhere[0].get("target"))
        raise UsageError(
            f"the ledger {book.path} records {len(elsewhere)} of these orders against {theirs}, "
            f"but this run goes to {ledgers.describe_target(book.target)}. That server never saw "
            "those orders: resume against the same --api-url, --payment-url and --app-id, or "
            "pass --resume-other-target if it is the same service under another address"
        )


def _write_reports(env, summary, outs: dict, spool, timeline=None) -> None:
    from cart_cli.core import reports

    def html(out) -> None:
        from cart_cli.core import htmlreport, outputs

        doc = htmlreport.document(summary, timeline, command="batch", generated=env.now())
        outputs.write(out, doc, stdout=env.stdout)

    writers = {
        "--jsonl": lambda out: reports.write_jsonl(out, summary, spool, stdout=env.stdout),
        "--junit": lambda out: reports.write_junit(out, summary, stdout=env.stdout),
        "--report-html": html,
    }
    for flag, out in outs.items():
        try:
            writers[flag](out)
        except OSError as e:
            summary.problems.append(f"cannot write {out.path}: {e.strerror or e}")


def _placed_lines(placed: list, order_total) -> str:
    """Placed orders, one plain line each, in aligned columns: name, merchant, order number,
    total, seconds."""
    from cart_cli.wire.text import safe

    rows = [
        tuple(
            map(
                safe,  # data: names, merchants, numbers
                (
                    o.job.name,
                    o.job.order.merchant,
                    o.order_number or "",
                    order_total(o.result.order) if o.result else "",
                    f"{o.seconds:.2f}",
                ),
            )
        )
        for o in placed
    ]
    widths = [max((len(r[i]) for r in rows), default=0) for i in range(5)]
    lines = [f"Placed ({len(rows)}): order, merchant, order number, total, seconds"]
    for r in rows:
        left = "  ".join(v.ljust(w) for v, w in zip(r[:3], widths[:3], strict=True))
        right = "  ".join(v.rjust(w) for v, w in zip(r[3:], widths[3:], strict=True))
        lines.append(f"{left}  {right}")
    return "\n".join(lines) + "\n\n"


def _unmet(o) -> bool:
    return o.verdict is not None and not o.verdict.met


def _report(env, state, summary, json_out: bool, err, ledger: Path, spool=None, outs=None) -> None:
    """The summary: on stdout, or on stderr when a report (``--jsonl -``) has stdout."""
    from cart_cli.cli.commands.ledger import say_how_to_resolve
    from cart_cli.cli.ui.batch import summary_table
    from cart_cli.cli.ui.console import order_total, strip_trailing
    from cart_cli.core.reports import write_summary_json
    from cart_cli.core.runner import (
        GROUP_NOT_PLACED,
        GROUP_PLACED,
        GROUP_UNKNOWN,
        NOT_RUN,
        PLACED,
    )

    if json_out:
        state.json_done = True  # the run's one document, written piece by piece
        write_summary_json(env.stdout, summary, spool)
        env.stdout.flush()
    else:
        # A report on stdout (--jsonl -) has it: the table goes to stderr, with the messages.
        moved = any(o.is_stdout for o in (outs or {}).values())
        shown = summary.outcomes
        if len(shown) > TABLE_ROWS:
            # A table lays out every cell (about 1 ms a row): placed orders get plain lines,
            # everything else stays in the table below them, in full.
            # (an expectation not met stays in the table, however it ended)
            fine = [o for o in shown if o.status == PLACED and not _unmet(o)]
            (env.stderr if moved else env.stdout).write(_placed_lines(fine, order_total))
            shown = [o for o in shown if o.status != PLACED or _unmet(o)]
        if shown and moved and env.stderr_isatty:
            err.print(summary_table(shown))
        elif shown and moved:  # stderr piped or in a file: without rich's trailing padding
            with err.capture() as captured:
                err.print(summary_table(shown))
            env.stderr.write(strip_trailing(captured.get()))
            env.stderr.flush()
        elif shown:
            env.print_result(summary_table(shown))
    placed, not_placed, unknown = (
        summary.group(g) for g in (GROUP_PLACED, GROUP_NOT_PLACED, GROUP_UNKNOWN)
    )
    earlier, not_run = summary.count("skipped"), summary.count(NOT_RUN)
    line = (
        f"{len(placed)} placed{f' ({earlier} in an earlier run)' if earlier else ''}, "
        f"{len(not_placed)} not placed{f' ({not_run} not run)' if not_run else ''}, "
        f"{len(unknown)} unknown, in {summary.elapsed:.1f}s"
    )
    if summary.interrupted:
        line += " (interrupted)"
    met = sum(1 for o in summary.outcomes if o.verdict and o.verdict.met)
    unmet = [o for o in summary.outcomes if o.verdict and not o.verdict.met]
    if met or unmet:
        line += f"; expectations: {met} met, {len(unmet)} not met"
    if summary.budget_stop:
        line += f" (stopped launching: {summary.budget_stop})"
    err.print(line, markup=False)
    for o in unmet:
        err.print(f"  {o.job.name}: {o.verdict.describe()}", markup=False)
    for problem in summary.problems:
        err.print(f"problem: {problem}", markup=False, style="red")
    if unknown:
        err.print(
            "Unknown: may have been placed, check before retrying:", markup=False, style="bold"
        )
        for o in unknown[:UNKNOWN_LISTED]:
            ids = [f"job {o.job.id}"]
            ids.append(f"request id {o.request_id}" if o.request_id else "request id not known")
            if o.cart_id:
                ids.append(f"cart id {o.cart_id}")
            err.print(
                f"  {o.job.name}  {o.job.order.merchant}  {', '.join(ids)}",
                markup=False,
            )
        if len(unknown) > UNKNOWN_LISTED:
            more = len(unknown) - UNKNOWN_LISTED
            which = "" if str(ledger) == LEDGER_DEFAULT else f" {shlex.quote(str(ledger))}"
            err.print(f"  ... and {more} more: cart-cli ledger{which}", markup=False)
        say_how_to_resolve(err, ledger)


def register(app: typer.Typer) -> None:
    app.command("batch", cls=opt.Command)(batch)
