"""Where a command sends: the "Where to send" options as one ``Target``, which registers them on
a command, resolves them (flags, variables, profile, defaults) and opens the client. Also what
the commands that send share about it: the production guards and the order history."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import typer

from cart_cli.cli.env import Environment
from cart_cli.cli.options import WHERE, complete_profiles, option, run_state
from cart_cli.cli.ui.messages import say_warning
from cart_cli.core import defaults
from cart_cli.core.errors import UsageError

_META = "cart_cli.target"  # a run's Target, in the click context's meta


def _where(name: str, annotation, *decls: str, default=None, **attrs):
    """One "Where to send" option: its value goes to the run's Target, not to the command."""

    def store(ctx: typer.Context, value) -> None:
        setattr(Target.of(ctx), name, value)

    info = typer.Option(default, *decls, rich_help_panel=WHERE, **attrs)
    return option(name, annotation, info, store)


_TIMEOUT_HELP = (
    f"Bound on connecting, on each read and on each whole call. Default: "
    f"{defaults.CONNECT_TIMEOUT:g} connect, {defaults.READ_TIMEOUT:g} read and call "
    f"({defaults.ORDER_READ_TIMEOUT:g} for an order call that answers only when done: --no-sse, "
    "complete-order; an order call keeps that whole-call bound)."
)
# In the order of --help.
_OPTIONS = (
    _where(
        "api_url",
        str | None,
        "--api-url",
        envvar="CART_CLI_API_URL",
        help=f"API base URL (session, carts). Default: {defaults.DEFAULT_API_URL}",
    ),
    _where(
        "payment_url",
        str | None,
        "--payment-url",
        envvar="CART_CLI_PAYMENT_URL",
        help=f"Payment base URL (key, orders). Default: {defaults.DEFAULT_PAYMENT_URL}",
    ),
    _where(
        "app_id", str | None, "--app-id", envvar="CART_CLI_APP_ID", help="Firmly application id."
    ),
    _where(
        "sandbox",
        bool,
        "--sandbox",
        default=False,
        help="Start the embedded sandbox on a free port and use it.",
    ),
    _where(
        "sandbox_latency",
        float,
        "--sandbox-latency",
        default=0.0,
        min=0,
        max=30,
        help="With --sandbox: seconds before each step.",
    ),
    _where(
        "sandbox_fault",
        str | None,
        "--sandbox-fault",
        metavar="NAME[:ARG]",
        help="With --sandbox: a scripted failure for the whole run.",
    ),
    _where("timeout", float | None, "--timeout", min=0.1, metavar="SECONDS", help=_TIMEOUT_HELP),
    _where(
        "ca_bundle",
        str | None,
        "--ca-bundle",
        metavar="FILE",
        help="CA certificates to trust (private CAs). TLS is always verified.",
    ),
    _where(
        "header",
        list[str] | None,
        "--header",
        "-H",
        metavar="'NAME: VALUE'",
        help="Extra header on every request (repeatable), e.g. 'x-sandbox-fault: drip'.",
    ),
    _where(
        "profile",
        str | None,
        "--profile",
        "-P",
        envvar="CART_CLI_PROFILE",
        metavar="NAME",
        autocompletion=lambda incomplete: complete_profiles(incomplete),
        help="A named target from the config file (cart-cli profile list). Flags and their "
        "variables override its fields.",
    ),
    _where(
        "allow_http",
        bool,
        "--allow-http",
        default=False,
        help="Allow plain http to a non-loopback host (a CI service container), with a warning.",
    ),
)


@dataclass
class Target:
    """Where a command sends: the "Where to send" options, as one value.

    ``@Target.options`` gives a command the options (register it with ``cls=options.Command``);
    ``Target.of(ctx)`` is their values for this run; ``resolve`` and ``open_client`` use them."""

    api_url: str | None = None
    payment_url: str | None = None
    app_id: str | None = None
    sandbox: bool = False
    sandbox_latency: float = 0.0
    sandbox_fault: str | None = None
    timeout: float | None = None
    ca_bundle: str | None = None
    header: list[str] | None = None
    profile: str | None = None
    allow_http: bool = False
    debug: bool = False  # --debug: an embedded sandbox logs what it serves
    resolved: object = field(default=None, repr=False)  # config.Resolved, once resolved

    @staticmethod
    def options(command):
        """Decorator: the "Where to send" options, stacked on ``command``."""
        for decorator in reversed(_OPTIONS):
            command = decorator(command)
        return command

    @staticmethod
    def of(ctx: typer.Context) -> Target:
        """This run's Target (one per run, shared by the contexts of a command line)."""
        target = ctx.meta.setdefault(_META, Target())
        target.debug = run_state(ctx).debug  # --debug is parsed first (eager)
        return target

    def resolve(self, env: Environment):
        """The target after flags, variables, profile and defaults (config.Resolved); once."""
        from cart_cli.core import config

        if self.resolved is None:
            self.resolved = config.resolve(
                api_url=self.api_url,
                payment_url=self.payment_url,
                app_id=self.app_id,
                ca_bundle=self.ca_bundle,
                allow_http=self.allow_http,
                profile=self.profile,
                sandbox=self.sandbox,
                env=env.environ,
                config_dir=env.config_dir,
            )
            if not self.sandbox:  # a bad URL is said first, before any guard asks anything
                from cart_cli.core.urls import check_url

                check_url(self.resolved.api_url, "--api-url", self.resolved.allow_http)
                check_url(self.resolved.payment_url, "--payment-url", self.resolved.allow_http)
        return self.resolved

    def tag(self, doc: dict) -> dict:
        """A result document with the target it went to (when that is known)."""
        if self.resolved is not None:
            doc["target"] = self.resolved.summary()
        return doc

    @contextmanager
    def open_client(
        self, env: Environment, pool_size: int = 10, *, token_cache: bool = True
    ) -> Iterator:
        """A Client for the target; with --sandbox, an embedded sandbox lives as long as it does."""
        from cart_cli.core.client import Client, Endpoints
        from cart_cli.core.tokencache import TokenCache

        headers = parse_headers(self.header or [])
        info = self.resolve(env)
        sandbox = None
        if self.sandbox:
            from cart_cli.sandbox import Sandbox
            from cart_cli.wire.clock import epoch_clock

            try:
                sandbox = Sandbox(
                    latency=self.sandbox_latency,
                    fault=self.sandbox_fault,
                    quiet=not self.debug,  # --debug shows what the sandbox logs
                    clock=epoch_clock(env.clock),  # the run's: CART_CLI_NOW moves it too
                )
            except ValueError as e:  # the only thing it can refuse here: the fault
                raise UsageError(f"--sandbox-fault: {e}") from None
            sandbox.start()
            info.api_url = info.payment_url = sandbox.url
            endpoints = Endpoints(sandbox.url, sandbox.url, defaults.SANDBOX_APP_ID)
            cache = None  # a throwaway server: its tokens are worth nothing after this run
        else:
            endpoints = Endpoints(info.api_url, info.payment_url, info.app_id, info.allow_http)
            if info.allow_http:
                warn_plain_http(env, info)
            cache = TokenCache(env.cache_dir) if token_cache else None
        timeout = (
            (self.timeout,) * 2
            if self.timeout
            else (defaults.CONNECT_TIMEOUT, defaults.READ_TIMEOUT)
        )
        try:
            client = Client(
                endpoints,
                timeout=timeout,
                ca_bundle=info.ca_bundle,
                token_cache=cache,
                extra_headers=headers,
                pool_size=pool_size,
                order_read_timeout=self.timeout or defaults.ORDER_READ_TIMEOUT,
                environ=env.environ,
                clock=lambda: env.now().timestamp(),
            )
            try:
                yield client
            finally:
                client.close()
        finally:
            if sandbox is not None:
                sandbox.stop()


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def parse_headers(values: list[str]) -> dict:
    """``Name: value`` pairs. The value is never repeated in a message (it may be a secret)."""
    out = {}
    for v in values:
        name, sep, value = v.partition(":")
        name = name.strip()
        if not sep or not name:
            raise UsageError("--header must look like 'Name: value' (a colon after the name)")
        if not _TOKEN.fullmatch(name):
            raise UsageError(
                f"--header {name[:40]!r}: a header name is letters, digits and -_. only"
            )
        if any(ch in value for ch in "\r\n\0"):
            raise UsageError(
                f"--header {name}: the value contains a line break or NUL; give one line"
            )
        out[name] = value.strip()
    return out


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


class HistoryWriter:
    """Appends every finished order to the local history; a failure to write is a warning, once:
    it must not change what the run reports about the orders."""

    def __init__(self, env: Environment, target: Target, via: str | None = None) -> None:
        from cart_cli.core.history import History

        self.via = via  # "monitor": its records say so
        self.env = env
        self.history = History(env.data_dir)
        self.target = target
        self.warned = False

    def record(self, result, source: str | None = None) -> None:
        from cart_cli.core.history import record_of

        summary = self.target.resolved.summary() if self.target.resolved else None
        try:
            self.history.append(
                record_of(result, target=summary, at=self.env.now(), source=source, via=self.via)
            )
        except OSError as e:
            if not self.warned:
                self.warned = True
                say_warning(self.env, f"cannot write the order history {self.history.path}: {e}")


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
