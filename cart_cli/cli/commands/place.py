"""cart-cli place: one order, from a YAML file and/or flags."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from cart_cli.cli import options as opt
from cart_cli.cli import target as tg
from cart_cli.cli.target import Target
from cart_cli.cli.ui import messages as msg
from cart_cli.core.errors import UsageError

ORDER = "Order (override or replace the file)"


def prompt_card(today: date) -> dict:
    """Ask for the card on the terminal; number and CVV are not echoed. A mistyped answer is
    asked again at once, by the card's own rules (wire/cards: the order loader's), saying what is
    expected, never what was typed; the expiry is checked against ``today`` (the run's clock).
    Ctrl-C or Ctrl-D raises typer.Abort (exit 130 at the boundary)."""
    import click  # its hidden prompt (getpass) keeps the terminal from echoing

    from cart_cli.wire import cards

    def rule(read):
        def proc(text: str):
            try:
                return read(text)
            except ValueError as e:
                raise click.UsageError(str(e)) from None

        return proc

    click.echo(
        "The card (the number and CVV are not shown as you type them; Ctrl-C to stop):", err=True
    )
    try:
        number = click.prompt(
            "Card number", hide_input=True, err=True, value_proc=rule(cards.read_number)
        )
        # default="": an empty answer reaches the rule, which says what is expected (click
        # would ask again without a word)
        name = click.prompt(
            "Name on card",
            default="",
            show_default=False,
            err=True,
            value_proc=rule(cards.read_name),
        )
        month, year = click.prompt(
            "Expiry (MM/YYYY)", err=True, value_proc=rule(lambda t: cards.read_expiry(t, today))
        )
        cvv = click.prompt("CVV", hide_input=True, err=True, value_proc=rule(cards.read_cvv))
    except click.Abort:
        raise typer.Abort() from None
    return {"number": number, "name": name, "month": month, "year": year, "cvv": cvv}


def say_card_prompt(env, card: str | None) -> None:
    """``--card -`` on a terminal is answered by the hidden prompt, not read as YAML: say so."""
    if card == "-" and env.stdin is not None and env.stdin_isatty:
        env.stderr_console.print(
            "--card -: standard input is a terminal, so the card is asked for with its number "
            "and CVV hidden (pipe a card file in to read it as YAML)",
            markup=False,
        )


@Target.options
def place(
    ctx: typer.Context,
    order_file: Annotated[
        Path | None,
        typer.Argument(
            metavar="ORDER.yaml",
            help="Order file (YAML). With --sandbox and no order, the example order.",
            show_default=False,
        ),
    ] = None,
    merchant: Annotated[
        str | None,
        typer.Option(
            help="Merchant domain, e.g. staging.luma.gift.",
            rich_help_panel=ORDER,
            autocompletion=lambda incomplete: opt.complete_merchants(incomplete),
        ),
    ] = None,
    item: Annotated[
        list[str] | None,
        typer.Option(
            "--item",
            metavar="SKU[:QTY]",
            help="An item (repeatable); replaces the file's items.",
            rich_help_panel=ORDER,
        ),
    ] = None,
    shipping: Annotated[
        str | None,
        typer.Option(metavar="FILE", help="Shipping address file.", rich_help_panel=ORDER),
    ] = None,
    billing: Annotated[
        str | None,
        typer.Option(
            metavar="FILE|same_as_shipping", help="Billing address file.", rich_help_panel=ORDER
        ),
    ] = None,
    card: Annotated[
        str | None,
        typer.Option(
            metavar="ALIAS|FILE|-",
            help="test:visa etc., a YAML/JSON card file, or - for stdin. Never a number.",
            rich_help_panel=ORDER,
            autocompletion=lambda incomplete: opt.complete_cards(incomplete),
        ),
    ] = None,
    captcha_token: Annotated[str | None, typer.Option(rich_help_panel=ORDER)] = None,
    flow: opt.FlowOpt = None,
    no_sse: Annotated[
        bool,
        typer.Option(
            "--no-sse",
            help="One JSON answer instead of the event stream.",
            rich_help_panel=opt.OUTPUT,
        ),
    ] = False,
    json_out: Annotated[
        bool,
        typer.Option("--json", help="One JSON document on stdout.", rich_help_panel=opt.OUTPUT),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Validate, fetch the key, encrypt, and show what would be sent. Sends no order.",
            rich_help_panel=opt.OUTPUT,
        ),
    ] = False,
    receipt_file: Annotated[
        Path | None,
        typer.Option(
            "--receipt",
            metavar="FILE.svg|.html|.txt",
            help="Also save the receipt to FILE, in the format its name ends with (- for text "
            "on stdout, instead of the receipt shown there).",
            rich_help_panel=opt.OUTPUT,
        ),
    ] = None,
    report_html: Annotated[
        Path | None,
        typer.Option(
            "--report-html",
            metavar="FILE",
            help="A self-contained HTML report of the order: its stage waterfall, request id, "
            "error and hint (- for stdout).",
            rich_help_panel=opt.OUTPUT,
        ),
    ] = None,
    yes: opt.YesOpt = False,
    quiet: opt.QuietOpt = False,
    debug: opt.DebugOpt = False,
) -> int:
    """Place one order and show its progress and receipt."""
    from cart_cli.cli.ui.console import plain_width
    from cart_cli.cli.ui.progress import progress_for
    from cart_cli.cli.ui.receipt import (
        check_receipt_path,
        plain_receipt,
        receipt,
        save_receipt,
        title_of,
    )
    from cart_cli.core.checkout import KeyProvider, OrderResult
    from cart_cli.core.checkout import dry_run as make_dry_run
    from cart_cli.core.expect import judge
    from cart_cli.core.order import PLACE_ORDER_FLOW, Overrides, load_order
    from cart_cli.core.submit import Flight, sending_order, submit_one

    env = opt.environment(ctx)
    target = Target.of(ctx)
    state = opt.run_state(ctx)
    if json_out:
        state.json_doc = lambda e: target.tag(OrderResult(merchant, False, error=e).to_json())
    if order_file is None and not (merchant or item or shipping or card):
        if not target.sandbox:
            raise UsageError(
                "no order given: pass ORDER.yaml, or build one with --merchant, --item, "
                "--shipping and --card (see cart-cli place --help); with --sandbox and no "
                "order, cart-cli places its example order"
            )
        from cart_cli.core.defaults import example_path

        order_file = example_path()  # a first try from an empty folder: the example order
        if not quiet:
            env.stderr_console.print(
                f"no order file: placing the example {order_file}", markup=False
            )
    overrides = Overrides(
        merchant=merchant,
        items=item or [],
        shipping=shipping,
        billing=billing,
        card=card,
        captcha_token=captcha_token,
    )
    saving = check_receipt_path(receipt_file, env.stdout_stat()) if receipt_file else None
    if saving is not None and saving.is_stdout and json_out:
        raise UsageError(
            f"--json and --receipt {receipt_file} both write to standard output: "
            "give --receipt a file"
        )
    if report_html and dry_run:
        raise UsageError("--report-html reports an order sent; --dry-run sends none")
    html_out = _plan_html(env, report_html, json_out, saving) if report_html else None
    _check_apart(order_file, receipt_file, report_html)
    say_card_prompt(env, card)
    order = load_order(order_file, overrides, inputs=env.order_inputs(prompt_card))
    merchant = order.merchant
    info = target.resolve(env)
    how = opt.flow_choice(env, flow, profile=info.flow).of(order)
    with target.open_client(env) as client:
        keys = KeyProvider(client)
        if dry_run:
            doc = make_dry_run(order, keys, sse=not no_sse, flow=how)
            opt.print_json(ctx, {**doc, "target": info.summary()})
            return 0
        where = info.describe()
        if not quiet and not env.stderr_live:  # the live display shows it in its header
            msg.say_target(env, info)
        staged = how != PLACE_ORDER_FLOW or not no_sse  # the cart flow reports each call
        display = progress_for(
            order.merchant,
            quiet=quiet,
            items=len(order.items),
            sse=staged,
            target=where,
            console=env.stderr_console if env.stderr_live else None,
            stream=env.stderr,
        )
        history = tg.HistoryWriter(env, target)
        source = str(order_file) if order_file else None
        report = _HtmlReport(order, source) if html_out else None
        state.flight = Flight()  # the boundary reads it: has the order left? its request id
        result = submit_one(
            sending_order(order, client, keys=keys, sse=not no_sse, flow=how),
            order.merchant,
            flight=state.flight,
            guard=lambda: tg.production_guard(env, info, order.merchant, order.card, yes=yes),
            progress=display,
            on_event=report.event if report else None,
            history=lambda result: history.record(result, source),
        )
    verdict = judge(order.expect, result) if order.expect else None
    if report and html_out:
        try:
            report.write(env, html_out, result, verdict, info)
        except OSError as e:
            env.say_error(f"cannot write --report-html {html_out.path}: {e.strerror or e}")
    if not result.ok and verdict is None:
        raise result.error
    shown = None
    if result.ok and (receipt_file or not json_out):
        shown = receipt(result.order, order.merchant, target=where, request_id=result.request_id)
    if json_out:
        doc = target.tag(result.to_json())
        if verdict:
            doc["expectation"] = verdict.to_json()
        opt.print_json(ctx, doc)
    elif shown is not None and html_out is not None and html_out.is_stdout:
        env.stderr_console.print(shown)  # --report-html - has stdout
    elif shown is not None and not (saving and saving.is_stdout):  # --receipt -: once, as text
        text = None
        width = plain_width(env.stdout_isatty, env.environ)
        if width is not None:  # piped: what rich would draw, without loading rich
            text = plain_receipt(
                result.order,
                order.merchant,
                target=where,
                request_id=result.request_id,
                width=width,
            )
        if text is None:
            env.print_result(shown)
        else:
            env.stdout.write(text)
            env.stdout.flush()
    if saving is not None and shown is not None:
        try:
            title = title_of(result.order, order.merchant)
            save_receipt(shown, saving, title=title, stdout=env.stdout)
        except OSError as e:  # the order is placed: say so, and that the file is missing
            env.say_error(f"the order was placed, but --receipt {receipt_file}: {e.strerror or e}")
    if verdict:
        msg.say_verdict(env, verdict, result)
        return int(verdict.exit_code)
    return 0


def _plan_html(env, path: Path, json_out: bool, receipt):
    """--report-html, checked before anything is sent."""
    from cart_cli.core import outputs

    out = outputs.plan("--report-html", path, stdout_stat=env.stdout_stat())
    if out.is_stdout and (json_out or (receipt is not None and receipt.is_stdout)):
        other = "--json" if json_out else f"--receipt {receipt.path}"
        raise UsageError(
            f"{other} and --report-html {path} both write to standard output: "
            "give --report-html a file"
        )
    return out


def _check_apart(order_file: Path | None, receipt_file: Path | None, report_html: Path | None):
    """--receipt and --report-html: never the order file, never each other (through links
    too), checked before anything is sent."""
    from cart_cli.core import outputs

    paths = {"--receipt": receipt_file, "--report-html": report_html}
    files = {f: p for f, p in paths.items() if p is not None and str(p) != outputs.STDOUT}
    if files:
        outputs.plan_all(files, inputs=[order_file] if order_file is not None else [])


class _HtmlReport:
    """The order as a one-order run, for core.htmlreport: its stages as they come."""

    def __init__(self, order, source: str | None) -> None:
        import os

        from cart_cli.core.plan import Job
        from cart_cli.core.timing import Timeline

        file = source or "(flags)"
        self.job = Job(file, os.path.realpath(source) if source else "", 0, 0, order, "")
        self.timeline = Timeline()
        self.timeline.started(self.job)

    def event(self, ev) -> None:
        self.timeline.event(self.job, ev)

    def write(self, env, out, result, verdict, info) -> None:
        import time

        from cart_cli.core import htmlreport, outputs
        from cart_cli.core.runner import JobOutcome, Summary

        outcome = JobOutcome.of(self.job, result, seconds=time.monotonic() - self.timeline.t0)
        outcome.verdict = verdict
        self.timeline.finished(outcome)
        summary = Summary([outcome], elapsed=outcome.seconds, target=info.summary())
        doc = htmlreport.document(summary, self.timeline, command="place", generated=env.now())
        outputs.write(out, doc, stdout=env.stdout)


def register(app: typer.Typer) -> None:
    app.command("place", cls=opt.Command)(place)
