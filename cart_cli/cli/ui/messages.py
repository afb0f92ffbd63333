"""One-line messages on stderr: styled through rich on a terminal, plain text (without loading
rich) otherwise. ``env`` is the run's Environment (its streams and consoles)."""

from __future__ import annotations


def escape(text: str) -> str:
    """Text made safe to print through rich markup."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def say(env, label: str, style: str, text: str) -> None:
    """One line on stderr: styled on a terminal; plain (and without loading rich) otherwise.
    ``text`` may hold data (a URL from the environment, a server's words): made safe."""
    from cart_cli.wire.text import safe

    text = safe(text, lines=True)
    if env.stderr_isatty:
        shown = f"[{style}]{label}[/] {escape(text)}" if label else f"[{style}]{escape(text)}[/]"
        env.stderr_console.print(shown)
    else:
        env.stderr.write(f"{label} {text}\n" if label else f"{text}\n")
        env.stderr.flush()


def say_warning(env, message: str) -> None:
    say(env, "warning:", "yellow", message)


def say_target(env, info) -> None:
    """The progress header's first line: where this run sends (production in red)."""
    say(env, "target:", "bold red" if info.production else "dim", info.describe())


def say_verdict(env, verdict, result) -> None:
    """An expectation's verdict on stderr: met (with the error that was expected), or what
    differed (and the error that happened, if any)."""
    if result.error is not None:
        label = "order not placed:" if verdict.met else "error:"
        say(env, label, "dim", result.error.describe())
    if verdict.met:
        say(env, "", "green", verdict.describe())
    else:
        env.say_error(verdict.describe())
