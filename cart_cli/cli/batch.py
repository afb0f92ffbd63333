"""cart-cli batch: many orders at once, for CI smoke tests and scripted runs."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Annotated

import typer

from cart_cli.cli import common as c
from cart_cli.core.defaults import LEDGER_DEFAULT

RUN = "Running"
REPORTS = "Reports and ledger"


class _PlainBatch:
    """One plain line per finished order, on stderr."""

    def __init__(self, console) -> None:
        self.console = console

    def started(self, job) -> None: ...
    def event(self, job, ev) -> None: ...

    def finished(self, o) -> None:
        from cart_cli.cli.render import order_total

        r = o.result
        parts = [
            o.status.upper() if o.status != "placed" else "placed",
            o.job.name,
            o.job.order.merchant,
        ]
        if r and r.ok:
            parts += [str(r.order.get("platform_order_number")), order_total(r.order)]
        elif r and r.error:
            parts += [r.error.code]
        if o.note:
            parts.append(o.note)
        parts.append(f"{o.seconds:.1f}s")
        print("  ".join(parts), file=self.console.file, flush=True)

    def close(self) -> None: ...


class _LiveBatch:
    """An overall bar (done/failed/total, orders/s, ETA) and a line per in-flight order."""

    def __init__(self, console, total: int) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[extra]}"),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.start = time.monotonic()
        self.done = self.failed = 0
        self.overall = self.progress.add_task("orders", total=total, extra="")
        self.lines: dict[str, int] = {}
        self.lock = threading.Lock()
        self.progress.start()

    def started(self, job) -> None:
        with self.lock:
            self.lines[job.id] = self.progress.add_task(
                f"  {job.name}", total=None, extra="starting"
            )

    def event(self, job, ev) -> None:
        from cart_cli.core import events  # not at import time: it would slow --help

        if isinstance(ev, events.ItemAdded):
            stage = f"item {ev.index}"
        elif isinstance(ev, events.Step):
            stage = ev.name
        else:
            stage = {
                events.CreatingCart: "creating cart",
                events.ShippingUpdated: "shipping",
                events.OrderPlaced: "placed",
            }.get(type(ev))
        with self.lock:
            if stage and job.id in self.lines:
                self.progress.update(self.lines[job.id], extra=stage)

    def finished(self, o) -> None:
        with self.lock:
            task = self.lines.pop(o.job.id, None)
            if task is not None:
                self.progress.remove_task(task)
            self.done += 1
            self.failed += o.status in ("failed", "unresolved")
            rate = self.done / max(time.monotonic() - self.start, 1e-6)
            self.progress.update(
                self.overall,
                advance=1,
                description=f"orders ([red]{self.failed} failed[/])",
                extra=f"{rate:.1f}/s",
            )

    def close(self) -> None:
        self.progress.stop()


def batch(
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
    flow: c.FlowOpt = None,
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
    jsonl: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE", help="One result per order, as JSON Lines.", rich_help_panel=REPORTS
        ),
    ] = None,
    junit: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE", help="JUnit XML, one testcase per order.", rich_help_panel=REPORTS
        ),
    ] = None,
    json_out: Annotated[
        bool,
        typer.Option("--json", help="A summary JSON document on stdout.", rich_help_panel=c.OUTPUT),
    ] = False,
    quiet: c.QuietOpt = False,
    debug: c.DebugOpt = False,
    *,
    target: c.Target,
) -> None:
    """Place many orders concurrently, with a ledger, resume, shards and reports."""
    c.setup_logging(debug)
    with c.guarded(c.Guard(debug=debug)):
        from cart_cli.cli.render import is_live, stderr_console
        from cart_cli.core import batch as core
        from cart_cli.core.reports import JsonlReport, JunitReport

        how = c.flow_choice(flow)
        jobs = core.plan(core.collect(paths), repeat, core.parse_shard(shard))
        err = stderr_console()
        book = core.Ledger(ledger)
        listeners = []
        stop = threading.Event()
        try:
            if jsonl:
                listeners.append(JsonlReport(jsonl))
            if junit:
                listeners.append(JunitReport(junit))
            with c.open_client(target, pool_size=concurrency) as client:
                if not quiet:  # the display goes up last: nothing can fail after it now
                    display = _LiveBatch(err, len(jobs)) if is_live(err) else _PlainBatch(err)
                    listeners.append(display)
                with _stop_on_signals(stop, err):
                    summary = core.run(
                        client,
                        jobs,
                        concurrency=concurrency,
                        ledger=book,
                        resume=resume,
                        fail_fast=fail_fast,
                        rate=rate,
                        stop=stop,
                        listeners=listeners,
                        flow=how,
                    )
        finally:
            for li in listeners:
                li.close()
        _report(summary, json_out, err)
        raise typer.Exit(int(summary.exit_code))


class _stop_on_signals:
    """First Ctrl-C/SIGTERM: stop launching and let in-flight orders finish. Second: give up."""

    def __init__(self, stop: threading.Event, console) -> None:
        self.stop, self.console, self.saved = stop, console, {}

    def _handler(self, signum, frame) -> None:
        if self.stop.is_set():
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        self.stop.set()
        self.console.print(
            "stopping: no new orders; waiting for the ones in flight "
            "(Ctrl-C again to abandon them)",
            markup=False,
        )

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.saved[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)


def _report(summary, json_out: bool, err) -> None:
    from rich.table import Table

    from cart_cli.cli.render import order_total, print_json, print_result

    if json_out:
        print_json(summary.to_json())
    else:
        table = Table(title="Batch summary", title_justify="left")
        for col in ("Order", "Merchant", "Result", "Order number", "Total", "Seconds", "Error"):
            table.add_column(col, justify="right" if col in ("Total", "Seconds") else "left")
        for o in sorted(summary.outcomes, key=lambda o: (o.job.file, o.job.index, o.job.repeat)):
            r = o.result
            table.add_row(
                o.job.name,
                o.job.order.merchant,
                o.status,
                str(r.order.get("platform_order_number")) if r and r.ok else "",
                order_total(r.order) if r and r.ok else "",
                f"{o.seconds:.2f}" if r else "",
                (r.error.code if r and r.error else "") or o.note,
            )
        print_result(table)
    line = (
        f"{summary.count('placed')} placed, {summary.count('failed')} failed, "
        f"{summary.count('skipped')} already placed, {summary.count('unresolved')} unresolved, "
        f"{len(summary.not_run)} not run in {summary.elapsed:.1f}s"
    )
    err.print(line, markup=False)
    unresolved = [o for o in summary.outcomes if o.status == "unresolved"]
    if unresolved:
        err.print(
            "Outcome unknown from an earlier run; check these with the merchant before "
            "placing them again:",
            markup=False,
        )
        for o in unresolved:
            err.print(f"  {o.job.name} ({o.job.order.merchant})", markup=False)


def register(app: typer.Typer) -> None:
    app.command("batch")(c.target_options(batch))
