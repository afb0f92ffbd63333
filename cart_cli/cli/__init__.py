"""The command line: typer app; one module per command. Heavy libraries load inside commands.

``main()`` makes the one Environment and holds the one error boundary: every way a run can end
becomes one clear message, a documented exit code and, under --json, exactly one document."""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import signal
import sys
import traceback
from collections.abc import Sequence

import typer

from cart_cli import __version__
from cart_cli.cli.env import Environment
from cart_cli.cli.helptext import HELP, piped_help
from cart_cli.cli.options import ascii_number
from cart_cli.cli.state import Invocation, RunState
from cart_cli.core.errors import (
    EXIT_MEANING,
    NOT_PLACED,
    UNKNOWN,
    CartError,
    Exit,
    Interrupted,
    UsageError,
)

# The commands, in the order --help lists them: each is cart_cli/cli/commands/<name>.py, whose
# register(app) adds it (a command, or a group of them) to the root.
COMMANDS = (
    "place",
    "validate",
    "batch",
    "monitor",
    "cart",
    "products",
    "ledger",
    "sandbox",
    "doctor",
    "profile",
    "orders",
    "init",
)
COMPLETE_VAR = "_CART_CLI_COMPLETE"  # set by the shell for completion (click's name for it)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cart-cli {__version__}")
        raise typer.Exit()


def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """Place test orders against Firmly's Simple Cart API, or its local sandbox."""


def make_app(names: Sequence[str] = COMMANDS) -> typer.Typer:
    """The typer app with the commands ``names`` (all of them by default)."""
    import importlib

    root = typer.Typer(
        name="cart-cli",
        help="Place test orders against Firmly's Simple Cart API, or its local sandbox.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=True,
        context_settings={"help_option_names": ["-h", "--help"]},
        epilog="Exit codes: " + "; ".join(f"{int(c)} {m}" for c, m in EXIT_MEANING.items()) + ".",
    )
    root.callback()(_root)
    for name in names:
        importlib.import_module(f"cart_cli.cli.commands.{name}").register(root)
    return root


def __getattr__(name: str):
    if name == "app":  # the whole typer app, for whoever runs it directly
        return make_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def invoked(args: Sequence[str], environ) -> str | None:
    """The command ``args`` run, when only it needs building: its name is the first argument
    (the root's own options, --help, --version and the completion ones, take no value). None
    when the whole tree is needed: root --help or no arguments (the list of commands), shell
    completion, or a name that is no command (the parser says so)."""
    if COMPLETE_VAR in environ or not args or args[0] not in COMMANDS:
        return None
    return args[0]


def command(name: str | None = None):
    """The click command tree (only command ``name`` under the root, when given), with help that
    shows no ``<bool>`` after a flag, numbers read in ASCII digits only, and Ctrl-C inside a
    command passed to the boundary."""
    root = typer.main.get_command(make_app((name,) if name else COMMANDS))

    def tidy(cmd, parent: typer.Context | None = None) -> None:
        ctx = typer.Context(cmd, parent=parent, info_name=cmd.name, **cmd.context_settings)
        for param in [*cmd.params, cmd.get_help_option(ctx)]:
            if param is not None and getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        for param in cmd.params:
            param.type = ascii_number(param.type)  # click's int() takes "３": refused
        subs = getattr(cmd, "commands", None)
        if subs is None and cmd.callback is not None:
            cmd.callback = _passing_interrupts(cmd.callback)
        for sub in (subs or {}).values():
            tidy(sub, ctx)

    tidy(root)
    return root


class Terminated(BaseException):
    """SIGTERM, or Ctrl-C inside a command: ends the run at the boundary, as exit 130.

    (typer would turn a KeyboardInterrupt into a silent exit 130, without message or --json.)"""


def _passing_interrupts(callback):
    @functools.wraps(callback)
    def inner(*args, **kwargs):
        _collect_rarely()
        try:
            return callback(*args, **kwargs)
        except KeyboardInterrupt:
            raise Terminated from None

    return inner


def _collect_rarely() -> None:
    """Garbage collection for a command line: off while the modules load (``__main__``), then
    everything loaded so far is set aside for good (``gc.freeze``: never scanned again) and young
    objects are collected every 100,000 allocations instead of 700. A one-shot command finishes
    before a collection is due; a long batch or server still collects its cycles. (Run in a
    process that did not start through ``__main__``, e.g. a test, collection is left alone.)"""
    if gc.isenabled():
        return
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    gc.enable()


def _on_sigterm(signum, frame) -> None:
    raise Terminated


def _shows_help(tree, args: Sequence[str]) -> bool:
    """Does this command line print help: -h/--help, or a group given no command (the root with
    no arguments, `cart-cli products`)?"""
    if any(a in HELP for a in args):
        return True
    if not args:
        return True
    sub = getattr(tree, "commands", {}).get(args[0]) if len(args) == 1 else None
    return sub is not None and hasattr(sub, "commands")


def run(args: Sequence[str], env: Environment, state: RunState | None = None) -> int:
    """Run the command line ``args`` in ``env``; returns the exit code. The one error boundary:
    what it says of a failure comes from the run's ``state`` (made here unless given)."""
    state = state if state is not None else RunState()
    code = Exit.INTERNAL
    error: CartError | None = None
    try:
        tree = command(invoked(args, os.environ))  # click reads completion from os.environ
        obj = Invocation(env, state)
        with piped_help(_shows_help(tree, args), env.stdout, env.stdout_isatty):
            result = tree.main(list(args), prog_name="cart-cli", standalone_mode=False, obj=obj)
        code = result if isinstance(result, int) else Exit.OK
    except typer.Exit as e:  # --help, --version, typer.Exit(n)
        code = e.exit_code
    except typer.Abort:  # Ctrl-C or Ctrl-D at a prompt
        error, code = _interrupted(env, state), Exit.INTERRUPTED
    except typer.TyperException as e:  # a usage error found by the parser
        e.show(file=env.stderr)
        code = getattr(e, "exit_code", Exit.USAGE)
        if "--json" in args:
            error = UsageError(e.format_message())
    except CartError as e:
        if state.debug:
            traceback.print_exc(file=env.stderr)
        env.say_error(e.describe())
        error, code = e, e.exit_code
    except (KeyboardInterrupt, Terminated):
        error, code = _interrupted(env, state), Exit.INTERRUPTED
    except Exception:
        if state.debug:
            traceback.print_exc(file=env.stderr)
        error = CartError(
            "internal error (a bug in cart-cli)",
            outcome=_outcome(state),
            request_id=state.request_id if state.submitted else None,
        )
        # After the order left, "may have been placed" (and its request id) must be said too.
        env.say_error(
            error.describe() if state.submitted else "internal error (a bug in cart-cli)."
        )
        env.say_error("Run again with --debug for a traceback, and report it.")
        code = Exit.INTERNAL
    if error is not None and not state.json_done and (state.json_doc or "--json" in args):
        with contextlib.suppress(Exception):  # never a second failure out of the boundary
            env.write_json(state.json_doc(error) if state.json_doc else _error_doc(error))
    env.stdout.flush()
    env.stderr.flush()
    return int(code)


def _outcome(state: RunState) -> str:
    return UNKNOWN if state.submitted else NOT_PLACED


def _interrupted(env: Environment, state: RunState) -> CartError:
    """Ctrl-C or SIGTERM: said once, saying whether the order had been sent."""
    sent = state.submitted
    error = Interrupted(
        "interrupted after the order was sent" if sent else "interrupted",
        outcome=_outcome(state),
        request_id=state.request_id if sent else None,
    )
    env.say_error(error.describe())
    return error


def _error_doc(error: CartError) -> dict:
    from cart_cli.wire.names import Schema

    return {"schema": Schema.ERROR, "ok": False, "error": error.to_dict()}


def main() -> None:
    try:
        env = Environment.from_process()
    except ValueError as e:  # CART_CLI_NOW that is not a date: no run can start
        from cart_cli.wire.text import safe

        sys.stderr.write(f"error: {safe(str(e))}.\n")
        sys.exit(Exit.USAGE)
    # What click and typer print themselves (help, version, completion) goes through the same
    # streams as ours: a reader that has gone (`--help | head -1`) ends it quietly, where click
    # would exit 1.
    sys.stdout, sys.stderr = env.stdout, env.stderr
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        code = run(sys.argv[1:], env)
    finally:
        signal.signal(signal.SIGTERM, previous)
    sys.exit(code)
