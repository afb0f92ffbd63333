"""cart-cli monitor: smoke orders on a schedule, exposed as Prometheus metrics (docs/monitor.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cart_cli.cli import options as opt
from cart_cli.cli import target as tg
from cart_cli.cli.target import Target
from cart_cli.cli.ui import messages as msg
from cart_cli.core.errors import UsageError

LEDGER = ".cart-cli-monitor-ledger.jsonl"
SCHEDULE = "Schedule"
METRICS = "Metrics"


@Target.options
def monitor(
    ctx: typer.Context,
    paths: Annotated[
        list[str],
        typer.Argument(
            metavar="ORDERS...",
            help="The smoke orders: order files, directories of *.yaml/*.yml, multi-order files.",
        ),
    ],
    every: Annotated[
        str,
        typer.Option(
            metavar="DURATION",
            help="How often to place them: 30s, 5m, 1h. A round that takes longer delays the "
            "next; two never overlap.",
            rich_help_panel=SCHEDULE,
        ),
    ] = "5m",
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="One round, then exit with its exit code (for cron, with --textfile).",
            rich_help_panel=SCHEDULE,
        ),
    ] = False,
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="Orders in flight.", rich_help_panel=SCHEDULE)
    ] = 4,
    flow: opt.FlowOpt = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=65535,
            metavar="PORT",
            help="Serve the metrics (Prometheus text and OpenMetrics) on http://ADDR:PORT/metrics "
            "(0: any free port, said on stderr).",
            rich_help_panel=METRICS,
        ),
    ] = None,
    metrics_addr: Annotated[
        str,
        typer.Option(
            metavar="ADDR",
            help="The address to listen on (0.0.0.0 for every interface).",
            rich_help_panel=METRICS,
        ),
    ] = "127.0.0.1",
    textfile: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE.prom",
            help="Write the metrics to FILE after each round, atomically, for node_exporter's "
            "textfile collector (- for stdout). --once with no --textfile: stdout.",
            rich_help_panel=METRICS,
        ),
    ] = None,
    ledger: Annotated[
        Path,
        typer.Option(
            metavar="FILE",
            help="Append-only record of every probe order (its lines say via: monitor).",
            rich_help_panel=METRICS,
        ),
    ] = Path(LEDGER),
    no_history: Annotated[
        bool,
        typer.Option(
            "--no-history",
            help="Leave the probe orders out of the local order history.",
            rich_help_panel=METRICS,
        ),
    ] = False,
    max_orders: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="N",
            help="Launch at most N orders in all, then stop (production needs this or "
            "--max-spend).",
            rich_help_panel=SCHEDULE,
        ),
    ] = None,
    max_spend: Annotated[
        str | None,
        typer.Option(
            metavar="AMOUNT",
            help="Stop once placed orders total AMOUNT (e.g. 250.00), over all rounds.",
            rich_help_panel=SCHEDULE,
        ),
    ] = None,
    yes: opt.YesOpt = False,
    quiet: opt.QuietOpt = False,
    debug: opt.DebugOpt = False,
) -> int:
    """Place smoke orders on a schedule and expose the results as Prometheus metrics."""
    from cart_cli.cli.interrupts import TwoStageStop
    from cart_cli.core import ledger as ledgers
    from cart_cli.core import monitor as mon
    from cart_cli.core import outputs, runner
    from cart_cli.core import plan as planning
    from cart_cli.core.guard import Budget, parse_amount

    env = opt.environment(ctx)
    target = Target.of(ctx)
    seconds = mon.parse_every(every)
    if not once and metrics_port is None and textfile is None:
        raise UsageError(
            "monitor needs somewhere to put its metrics: --metrics-port PORT, --textfile "
            "FILE.prom, or --once (which writes them to stdout)"
        )
    sources = planning.collect(paths, env.order_inputs())
    jobs = planning.plan(sources)
    budget = Budget(max_orders, parse_amount(max_spend) if max_spend else None)
    info = target.resolve(env)
    how = opt.flow_choice(env, flow, profile=info.flow)
    tg.batch_guard(env, info, [j.order for j in jobs], yes=yes, budget=budget)
    if once and textfile is None and metrics_port is None:
        textfile = Path(outputs.STDOUT)
    outs = outputs.plan_all(
        {"--textfile": textfile},
        ledger=ledger,
        inputs=[s.file for s in sources],
        stdout_stat=env.stdout_stat(),
    )
    book = ledgers.Ledger(ledger, clock=env.clock)
    book.via = "monitor"
    err = env.stderr_console
    history = None if no_history else tg.HistoryWriter(env, target, via="monitor").record
    metrics = mon.Metrics()

    def say(text: str) -> None:
        if not quiet:
            err.print(text, markup=False)

    server = None
    busy = (
        f"the ledger {ledger} is in use by another run (another monitor?): give this one its "
        "own --ledger FILE"
    )
    with (
        book.held(busy=busy),
        TwoStageStop(
            say=say,
            stopping="stopping: no new round; the orders in flight, if any, finish (Ctrl-C "
            "again to abandon them)",
        ) as signals,
        target.open_client(env, pool_size=concurrency) as client,
    ):
        e = client.endpoints
        book.target = ledgers.make_target(e.api_url, e.payment_url, e.app_id, info.profile)
        if not quiet:
            msg.say_target(env, info)
        if metrics_port is not None:
            server = _serve(metrics, metrics_addr, metrics_port)
            host = f"[{metrics_addr}]" if ":" in metrics_addr else metrics_addr
            say(f"metrics on http://{host}:{server.server_port}/metrics")

        def run_round(jobs, extra=()):
            return runner.run(
                client,
                jobs,
                concurrency=concurrency,
                ledger=book,
                stop=signals.stop,
                abandon=signals.abandon,
                listeners=list(extra),
                flow=how,
                budget=budget if budget.active else None,
                history=history,
            )

        out = outs.get("--textfile")

        def on_round(r) -> None:
            s = r.summary
            passed = sum(1 for o in s.outcomes if o.passed and o.status != runner.NOT_RUN)
            failed = [o for o in s.outcomes if not o.passed and o.status != runner.NOT_RUN]
            line = f"round {r.number}: {passed} passed, {len(failed)} failed in {r.elapsed:.1f}s"
            if s.interrupted:
                line += " (interrupted: not counted)"
            say(line)
            for o in failed[:10]:
                why = o.verdict.describe() if o.verdict else (o.code or o.note or o.status)
                say(f"  {o.job.name}  {o.job.order.merchant}  {why}")
            for problem in s.problems:
                err.print(f"problem: {problem}", markup=False, style="red")
            if out is not None and not s.interrupted:
                try:  # world-readable: node_exporter runs as another user; no secrets in it
                    outputs.write(out, metrics.text(), stdout=env.stdout, mode=0o644)
                except OSError as e:
                    err.print(f"cannot write --textfile {out.path}: {e.strerror or e}")

        loop = mon.Monitor(
            jobs,
            run_round,
            every=seconds,
            stop=signals.stop,
            now=env.now,
            metrics=metrics,
            on_round=on_round,
        )
        try:
            last = loop.loop(once=once, budget=budget if budget.active else None)
        finally:
            if server is not None:
                server.shutdown()
                server.server_close()
    if last is not None and last.summary.budget_stop:
        say(f"stopped: {last.summary.budget_stop}")
    elif signals.stop.is_set():
        say("stopped")
    if once and last is not None:
        return int(last.summary.exit_code)
    return 0


def _serve(metrics, addr: str, port: int):
    from prometheus_client import start_http_server

    try:
        server, _thread = start_http_server(port, addr=addr, registry=metrics)
    except OSError as e:
        raise UsageError(
            f"cannot serve metrics on {addr}:{port}: {e.strerror or e}",
            hint="Give another --metrics-port (0 picks a free one).",
        ) from None
    return server


def register(app: typer.Typer) -> None:
    app.command("monitor", cls=opt.Command)(monitor)
