"""Options more than one command takes, and the run's Environment as a command finds it.

Options a command reads as arguments are typer annotations (``quiet: QuietOpt = False``).
Options a group of commands shares and reads as one value (the target) are stacked on the
command with plain decorators (``option``), as click's ``click.option`` does; ``Command`` adds
them to the command typer builds from the function's own signature."""

from __future__ import annotations

import copy
import enum
import functools
import logging
import re
from typing import Annotated

import typer
import typer.main
import typer.models
from typer.core import TyperCommand

from cart_cli.cli.env import Environment
from cart_cli.cli.state import Invocation, RunState

WHERE = "Where to send"
OUTPUT = "Output"
STACKED = "__cart_cli_options__"  # on a command function: the options stacked on it


def option(name: str, annotation, info, callback):
    """A decorator giving a command one more option: ``name: annotation = info`` as typer reads
    it from a signature (so it is drawn and completed the same way), but not passed to the
    command: ``callback(ctx, value)`` takes its value. Stack several for shared options; the top
    one is listed first."""

    def decorator(command):
        stacked = command.__dict__.setdefault(STACKED, [])
        if all(spec[0] != name for spec in stacked):  # stacked again (registered twice): once
            stacked.insert(0, (name, annotation, info, callback))
        return command

    return decorator


def _stacked_param(name: str, annotation, info, callback):
    param, convert = typer.main.get_click_param(
        typer.models.ParamMeta(name=name, default=info, annotation=annotation)
    )
    param.expose_value = False
    param.callback = lambda ctx, _param, value: callback(ctx, convert(value) if convert else value)
    return param


class Command(TyperCommand):
    """A typer command with the options stacked on its function by ``option``, after its own.
    (typer copies the function's attributes onto the callback it makes.)"""

    def __init__(self, *, callback=None, params=None, **kwargs) -> None:
        stacked = [_stacked_param(*spec) for spec in getattr(callback, STACKED, ())]
        super().__init__(callback=callback, params=[*(params or []), *stacked], **kwargs)


class _AsciiNumber:
    """A number option's value in ASCII: click's int() and float() also take "３" (fullwidth),
    "٣" (Arabic-Indic), "1_000", and floats "nan", "inf" or "1e3". Mixed into the number type
    click made for the option, so its range, help and messages stay as they were."""

    ascii: re.Pattern[str]
    said: str

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not self.ascii.fullmatch(value):
            self.fail(f"{value!r} is not {self.said} in digits 0-9.", param, ctx)
        return super().convert(value, param, ctx)


class _Int(_AsciiNumber):
    ascii = re.compile(r"-?[0-9]+")
    said = "a whole number"


class _Float(_AsciiNumber):
    ascii = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
    said = "a number"


@functools.cache
def _ascii_kind(base: type) -> type:
    rule = _Int if base._number_class is int else _Float
    return type(f"Ascii{base.__name__}", (rule, base), {})


def ascii_number(kind):
    """The ASCII-only version of a number type click made for an option or argument (int or
    float, with its range), or ``kind`` itself when it is no number. Every parameter of the
    command tree goes through this (``cart_cli.cli.command``): a new number option is
    ASCII-only without a word. (typer carries its own copy of click: the type is derived from
    the one it made, not from click's classes.)"""
    if isinstance(kind, _AsciiNumber) or getattr(kind, "_number_class", None) not in (int, float):
        return kind
    ascii = copy.copy(kind)
    ascii.__class__ = _ascii_kind(type(kind))
    return ascii


class _SafeFormatter(logging.Formatter):
    """A debug line quotes what servers sent (URLs, error names): made safe for the terminal."""

    def format(self, record: logging.LogRecord) -> str:
        from cart_cli.wire.text import safe

        return safe(super().format(record), lines=True)


def setup_logging(env: Environment, debug: bool) -> None:
    """--debug: log records (requests, secrets redacted) on the run's stderr; else warnings only."""
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, "cart_cli", False)]:
        root.removeHandler(h)
    if debug:
        handler = logging.StreamHandler(env.stderr)
        handler.cart_cli = True
        handler.setFormatter(_SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.WARNING)


def invocation(ctx: typer.Context) -> Invocation:
    """The run's Environment and RunState (made in run(); made here if a command runs without
    it)."""
    found = ctx.find_object(Invocation)
    if found is None:
        found = ctx.find_root().obj = Invocation(Environment.from_process())
    return found


def environment(ctx: typer.Context) -> Environment:
    """The run's Environment: what it takes from the process."""
    return invocation(ctx).env


def run_state(ctx: typer.Context) -> RunState:
    """The run's state, as the error boundary reads it (--debug, the order in flight, --json)."""
    return invocation(ctx).state


def merchant_domain(value: str) -> str:
    """--merchant: the domain as order files have it (lower case), or exit 2 saying so."""
    from cart_cli.core.errors import UsageError
    from cart_cli.core.order import Domain
    from cart_cli.core.shapes import Invalid

    try:
        return Domain(value)
    except Invalid:
        raise UsageError(f"--merchant {value!r} must be a domain like staging.luma.gift") from None


def print_json(ctx: typer.Context, doc: dict) -> None:
    """The run's one JSON document on stdout."""
    invocation(ctx).print_json(doc)


def _debug(ctx: typer.Context, value: bool) -> bool:
    """--debug: the run takes it (logging, tracebacks) as soon as it is parsed."""
    run_state(ctx).debug = value
    setup_logging(environment(ctx), value)
    return value


# ---- completion (runs outside main(), so it makes its own Environment; never fails loudly) ---


def complete_profiles(incomplete: str) -> list[str]:
    from cart_cli.core import config

    env = Environment.from_process()
    try:
        names = config.load(config.config_file(env.environ, env.config_dir)).profiles
    except Exception:
        names = config.BUILTIN
    return sorted(n for n in names if n.startswith(incomplete))


def complete_cards(incomplete: str) -> list[str]:
    """Test-card aliases, for shell completion (files complete as the shell does)."""
    from cart_cli.wire.cards import ALIAS_PREFIX, TEST_CARDS

    return [a for a in (ALIAS_PREFIX + c.alias for c in TEST_CARDS) if a.startswith(incomplete)]


def complete_merchants(incomplete: str) -> list[str]:
    """Merchant domains from the order history, for shell completion."""
    from cart_cli.core.history import History

    try:
        names = History(Environment.from_process().data_dir).merchants()
    except Exception:
        names = []
    return [n for n in names if n.startswith(incomplete.lower())]


# ---- options several commands take as arguments ---


class FlowName(str, enum.Enum):
    place_order = "place-order"
    cart = "cart"
    auto = "auto"


FlowOpt = Annotated[
    FlowName | None,
    typer.Option(
        "--flow",
        metavar="place-order|cart|auto",
        help="How to place: one place-order call, or the cart calls then complete-order; auto: "
        "place-order, and the cart flow if the server has no place-order route. "
        "Default: the order's flow:, else $CART_CLI_FLOW, else place-order.",
    ),
]
YesOpt = Annotated[
    bool,
    typer.Option(
        "--yes",
        "-y",
        rich_help_panel=WHERE,
        help="Against production: go ahead without typing the merchant domain (scripts, CI).",
    ),
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", rich_help_panel=OUTPUT, help="No progress output.")
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="One JSON document on stdout.", rich_help_panel=OUTPUT)
]
DebugOpt = Annotated[
    bool,
    typer.Option(
        "--debug",
        rich_help_panel=OUTPUT,
        is_eager=True,
        callback=_debug,
        help="Log requests (secrets redacted) and show tracebacks.",
    ),
]


def flow_choice(env: Environment, flag: FlowName | None, profile: str | None = None):
    """--flow, else the order's flow:, else $CART_CLI_FLOW (checked here), else the profile's
    flow, else place-order."""
    from cart_cli.core.checkout import FlowChoice

    return FlowChoice(
        flag=flag.value if flag else None,
        env=env.environ.get("CART_CLI_FLOW") or None,
        profile=profile,
    )
