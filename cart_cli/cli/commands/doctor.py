"""cart-cli doctor: check the target (config, DNS, TLS, session, key, merchant) before a run."""

from __future__ import annotations

from typing import Annotated

import typer

from cart_cli.cli import options as opt
from cart_cli.cli.target import Target
from cart_cli.cli.ui import messages as msg
from cart_cli.core.errors import UsageError
from cart_cli.wire.names import Schema

MARK = {"ok": ("✓", "green"), "failed": ("✗", "red"), "skipped": ("-", "dim")}


@Target.options
def doctor(
    ctx: typer.Context,
    merchant: Annotated[
        str | None,
        typer.Option(
            metavar="DOMAIN",
            help="Also read this merchant's cart (an empty cart read: nothing is changed).",
            autocompletion=lambda incomplete: opt.complete_merchants(incomplete),
        ),
    ] = None,
    json_out: opt.JsonOpt = False,
    quiet: opt.QuietOpt = False,
    debug: opt.DebugOpt = False,
) -> int:
    """Check that the target works: each check a line with ✓/✗, its time and a hint.

    Exits with the code of the first failure (2 config, 7 DNS/TLS, 6 session...)."""
    from cart_cli.core import doctor as core
    from cart_cli.core.errors import Exit

    env = opt.environment(ctx)
    target = Target.of(ctx)
    console = env.stdout_console
    checks: list[core.Check] = []

    def show(check: core.Check) -> None:
        checks.append(check)
        if json_out or (quiet and check.status != core.FAILED):
            return
        mark, style = MARK[check.status]
        ms = f"{check.ms} ms" if check.status != core.SKIPPED else ""
        console.print(
            f"[{style}]{mark}[/] {check.name:<11}{ms:>8}  {msg.escape(check.detail)}",
            soft_wrap=True,
        )
        if check.hint and check.status == core.FAILED:
            console.print(f"  {'':<11}{'':>8}  hint: {msg.escape(check.hint)}", soft_wrap=True)

    config_check = _config(env, target, core)
    show(config_check)
    if config_check.status == core.FAILED:
        for name in ("dns", "tls", "session", "public key", "merchant"):
            show(core.Check(name, core.SKIPPED, detail="skipped: the configuration is wrong"))
    else:
        info = target.resolve(env)
        with target.open_client(env, token_cache=False) as client:
            for check in core.run(
                urls=(info.api_url, info.payment_url),
                ca_bundle=info.ca_bundle,
                merchant=merchant.strip().lower() if merchant else None,
                client=lambda: client,
                timeout=target.timeout or 10.0,
                now=env.now,
            ):
                show(check)
    failures = [x for x in checks if x.status == core.FAILED]
    code = failures[0].exit_code if failures else Exit.OK
    if json_out:
        opt.print_json(
            ctx,
            target.tag(
                {
                    "schema": Schema.DOCTOR,
                    "ok": not failures,
                    "exit_code": int(code),
                    "checks": [x.to_json() for x in checks],
                }
            ),
        )
    elif not quiet:
        names = ", ".join(x.name for x in failures)
        env.stderr_console.print(
            f"{len(failures)} check{'s' if len(failures) != 1 else ''} failed ({names})"
            if failures
            else "all checks passed",
            markup=False,
        )
    return int(code)


def _config(env, target: Target, core):
    """The config check: the profile file reads, the URLs, the app id and the CA bundle."""
    import os
    import time

    from cart_cli.core.errors import CartError

    started = time.perf_counter()
    try:
        info = target.resolve(env)
        if not target.sandbox and not info.app_id.strip():
            raise UsageError(
                "no application id", hint="Pass --app-id, set CART_CLI_APP_ID, or use a profile."
            )
        if info.ca_bundle and not os.path.isfile(info.ca_bundle):
            raise UsageError(f"CA bundle {info.ca_bundle}: no such file")
    except CartError as e:
        ms = int((time.perf_counter() - started) * 1000)
        return core.Check("config", core.FAILED, ms, e.message, e.hint or "", e.exit_code)
    from cart_cli.core import config

    path = config.config_file(env.environ, env.config_dir)
    detail = f"{info.describe()} " + (f"(config {path})" if path.exists() else "(no config file)")
    if target.sandbox:
        detail = "embedded sandbox, started for these checks"
    ms = int((time.perf_counter() - started) * 1000)
    return core.Check("config", core.OK, ms, detail)


def register(app: typer.Typer) -> None:
    app.command("doctor", cls=opt.Command)(doctor)
