"""The target of a command, for the commands: resolving it (flags, variables, profile), showing
it, guarding it (production), completing names, and recording what was sent to it (history)."""

from __future__ import annotations

from cart_cli.cli.common import Target
from cart_cli.cli.env import Environment
from cart_cli.core.errors import UsageError


def resolve(env: Environment, target: Target):
    """The target after flags, variables, profile and defaults (config.Resolved); once."""
    from cart_cli.core import config

    if target.resolved is None:
        target.resolved = config.resolve(
            api_url=target.api_url,
            payment_url=target.payment_url,
            app_id=target.app_id,
            ca_bundle=target.ca_bundle,
            allow_http=target.allow_http,
            profile=target.profile,
            sandbox=target.sandbox,
            env=env.environ,
            config_dir=env.config_dir,
        )
        if not target.sandbox:  # a bad URL is said first, before any guard asks anything
            from cart_cli.core.client import check_url

            check_url(target.resolved.api_url, "--api-url", target.resolved.allow_http)
            check_url(target.resolved.payment_url, "--payment-url", target.resolved.allow_http)
    return target.resolved


def complete_profiles(incomplete: str) -> list[str]:
    from cart_cli.core import config

    env = Environment.from_process()  # completion runs outside main()
    try:
        names = config.load(config.config_file(env.environ, env.config_dir)).profiles
    except Exception:  # completion must never fail loudly
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
    except Exception:  # completion must never fail loudly
        names = []
    return [n for n in names if n.startswith(incomplete.lower())]


class HistoryWriter:
    """Appends every finished order to the local history; a failure to write is a warning, once:
    it must not change what the run reports about the orders."""

    def __init__(self, env: Environment, target: Target) -> None:
        from cart_cli.core.history import History

        self.env = env
        self.history = History(env.data_dir)
        self.target = target
        self.warned = False

    def record(self, result, source: str | None = None) -> None:
        from cart_cli.core.history import record_of

        summary = self.target.resolved.summary() if self.target.resolved else None
        try:
            self.history.append(record_of(result, target=summary, at=self.env.now(), source=source))
        except OSError as e:
            if not self.warned:
                self.warned = True
                say_warning(self.env, f"cannot write the order history {self.history.path}: {e}")

    # a batch listener
    def started(self, job) -> None: ...
    def event(self, job, ev) -> None: ...

    def finished(self, outcome) -> None:
        if outcome.result is not None:
            self.record(outcome.result, source=outcome.job.name)

    def close(self) -> None: ...


def escape(text: str) -> str:
    """Text made safe to print through rich markup."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def _say(env: Environment, label: str, style: str, text: str) -> None:
    """One line on stderr: styled on a terminal; plain (and without loading rich) otherwise."""
    if env.stderr_isatty:
        shown = f"[{style}]{label}[/] {escape(text)}" if label else f"[{style}]{escape(text)}[/]"
        env.stderr_console.print(shown)
    else:
        env.stderr.write(f"{label} {text}\n" if label else f"{text}\n")
        env.stderr.flush()


def say_warning(env: Environment, message: str) -> None:
    _say(env, "warning:", "yellow", message)


def warn_plain_http(env: Environment, info) -> None:
    from urllib.parse import urlsplit

    from cart_cli.core.guard import is_loopback

    for url in dict.fromkeys((info.api_url, info.payment_url)):
        parts = urlsplit(url)
        if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
            say_warning(
                env,
                f"plain http to {parts.netloc} (--allow-http): the session token travels "
                "unencrypted; the card is still a JWE",
            )


def with_target(doc: dict, target: Target) -> dict:
    """A result document with the target it went to (when that is known)."""
    if target.resolved is not None:
        doc["target"] = target.resolved.summary()
    return doc


def say_target(env: Environment, info) -> None:
    """The progress header's first line: where this run sends (production in red)."""
    _say(env, "target:", "bold red" if info.production else "dim", info.describe())


def say_verdict(env: Environment, verdict, result) -> None:
    """An expectation's verdict on stderr: met (with the error that was expected), or what
    differed (and the error that happened, if any)."""
    if result.error is not None:
        label = "order not placed:" if verdict.met else "error:"
        _say(env, label, "dim", result.error.describe())
    if verdict.met:
        _say(env, "", "green", verdict.describe())
    else:
        env.say_error(verdict.describe())


def production_guard(
    env: Environment, info, merchant: str, card, *, yes: bool, what: str = "a real order"
) -> None:
    """Against production: no test cards; --yes, or the merchant domain typed on a terminal.
    Runs before the order is sent. Staging targets pass straight through."""
    if not info.production:
        return
    from cart_cli.core import guard

    guard.refuse_test_card(card.number.get_secret_value())
    guard.confirm(
        merchant,
        yes=yes,
        interactive=_interactive(env),
        ask=_ask,
        what=what,
        where=info.describe(kind=False),
    )


def batch_guard(env: Environment, info, orders, *, yes: bool, budget) -> None:
    """A batch against production: no test cards, a limit (--max-orders or --max-spend), and
    --yes or each merchant domain typed on a terminal. Before anything is sent."""
    if not info.production:
        return
    from cart_cli.core import guard

    for order in orders:
        guard.refuse_test_card(order.card.number.get_secret_value())
    if not budget.active:
        raise UsageError(
            "the target is production: a batch needs --max-orders N or --max-spend AMOUNT"
        )
    # Every merchant is asked for: with --resume, skipped orders do not count against
    # --max-orders, so any order of the batch may be among those launched.
    n = min(len(orders), budget.max_orders or len(orders))
    for merchant in dict.fromkeys(o.merchant for o in orders):
        guard.confirm(
            merchant,
            yes=yes,
            interactive=_interactive(env),
            ask=_ask,
            where=info.describe(kind=False),
            what=f"a batch of up to {n} real order{'s' if n != 1 else ''}",
        )


def _interactive(env: Environment) -> bool:
    """A person can answer: stdin and stderr are a terminal."""
    return env.stdin is not None and env.stdin_isatty and env.stderr_isatty


def _ask(text: str) -> str:
    import click

    try:
        return click.prompt(text, err=True, default="", show_default=False)
    except click.Abort:  # Ctrl-C or Ctrl-D at the prompt: nothing was sent
        raise KeyboardInterrupt from None
