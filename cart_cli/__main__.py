"""The `cart-cli` console script and `python -m cart_cli`.

``main()`` answers ``--version`` before the command line (typer, click) is even imported: a
version check in a script or CI step costs a bare interpreter start and little more. For
``--help`` it spares typer's help renderer two imports it does not use for cart-cli."""

import gc
import sys
import types

HELP = ("-h", "--help")
# typer.rich_utils imports these at module level, but uses Markdown only in markup mode
# "markdown" and Traceback only for pretty exceptions: cart-cli has neither. Together they
# pull in markdown-it and pygments, about a third of the time --help takes.
UNUSED_BY_HELP = {"rich.markdown": "Markdown", "rich.traceback": "Traceback"}


class _NotLoaded:
    """Stands in for a class a --help run never draws; using it says so instead of misdrawing."""

    def __init__(self, *args, **kwargs) -> None:
        raise RuntimeError("cart-cli: this part of rich is not loaded in a --help run")


def _lighter_help() -> None:
    for module, name in UNUSED_BY_HELP.items():
        if module not in sys.modules:
            stand_in = types.ModuleType(module, "not loaded for --help (see cart_cli.__main__)")
            setattr(stand_in, name, _NotLoaded)
            sys.modules[module] = stand_in


def _quiet_stdout() -> None:
    """Standard output's reader has gone: drop what is buffered, so the flush at exit does not
    fail (and change the exit code) too."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError):
        pass


def main() -> None:
    # No garbage collection while the modules load: nothing they make is garbage, and scanning
    # it over and over cost a sixth of a `place`. The command turns it on (cli._collect_rarely).
    gc.disable()
    args = sys.argv[1:]
    if args == ["--version"]:
        from cart_cli import __version__

        try:
            print(f"cart-cli {__version__}", flush=True)
        except (BrokenPipeError, ValueError):  # `| true`: nobody reads it, and that is fine
            _quiet_stdout()
        return
    if any(a in HELP for a in args):
        _lighter_help()
    from cart_cli.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
