"""cart-cli profile: named targets in the config file (list, show, add)."""

from __future__ import annotations

from typing import Annotated

import typer

from cart_cli.cli import options as opt
from cart_cli.wire.names import Schema
from cart_cli.wire.text import safe

app = typer.Typer(
    name="profile",
    help="Named targets (api URL, payment URL, app id...) kept in the config file.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

NameArg = Annotated[
    str,
    typer.Argument(
        metavar="NAME",
        help="The profile's name.",
        autocompletion=lambda incomplete: opt.complete_profiles(incomplete),
    ),
]


def _path(env):
    from cart_cli.core import config

    return config.config_file(env.environ, env.config_dir)


def _config(env):
    from cart_cli.core import config

    return config.load_from(env.environ, env.config_dir)


def _production(profile) -> bool:
    from cart_cli.core.config import production_of

    return production_of(profile)


@app.command("list")
def list_(ctx: typer.Context, json_out: opt.JsonOpt = False, debug: opt.DebugOpt = False) -> int:
    """The profiles: the built-in ones and those of the config file."""
    from rich.table import Table

    env = opt.environment(ctx)
    cfg = _config(env)
    active = env.environ.get("CART_CLI_PROFILE")
    rows = [
        {
            "name": p.name,
            "api_url": p.settings().get("api_url"),
            "production": _production(p),
            "source": p.source,
            "active": p.name == active,
        }
        for p in sorted(cfg.profiles.values(), key=lambda p: p.name)
    ]
    if json_out:
        opt.print_json(ctx, {"schema": Schema.PROFILES, "config": str(cfg.path), "profiles": rows})
        return 0
    from cart_cli.cli.ui.console import data_text

    table = Table(title=data_text(f"Profiles ({cfg.path})"), title_justify="left")
    table.add_column("Name", no_wrap=True)
    table.add_column("API URL", overflow="fold")
    table.add_column("Kind", no_wrap=True)
    table.add_column("From", overflow="fold")
    for r in rows:
        table.add_row(  # names, URLs and paths as text, never markup
            data_text(("* " if r["active"] else "") + r["name"]),
            data_text(r["api_url"] or "(default)"),
            "PRODUCTION" if r["production"] else "staging",
            data_text(r["source"]),
        )
    env.print_result(table)
    return 0


@app.command("show")
def show(
    ctx: typer.Context, name: NameArg, json_out: opt.JsonOpt = False, debug: opt.DebugOpt = False
) -> int:
    """One profile's settings (never a secret: URLs lose any credentials)."""
    from rich.table import Table

    env = opt.environment(ctx)
    p = _config(env).get(name)
    doc = {"name": p.name, "source": p.source, **p.settings(), "is_production": _production(p)}
    if json_out:
        opt.print_json(ctx, {"schema": Schema.PROFILE, **doc})
        return 0
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    from cart_cli.cli.ui.console import data_text

    for key, value in doc.items():
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        table.add_row(data_text(key), data_text(shown))
    env.print_result(table)
    return 0


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The new profile's name.")],
    api_url: Annotated[str | None, typer.Option(help="API base URL.")] = None,
    payment_url: Annotated[str | None, typer.Option(help="Payment base URL.")] = None,
    app_id: Annotated[str | None, typer.Option(help="Firmly application id.")] = None,
    ca_bundle: Annotated[str | None, typer.Option(metavar="FILE", help="CA bundle.")] = None,
    flow: Annotated[
        str | None, typer.Option(metavar="place-order|cart", help="Checkout flow.")
    ] = None,
    allow_http: Annotated[
        bool | None, typer.Option("--allow-http/--no-allow-http", help="Plain http allowed.")
    ] = None,
    production: Annotated[
        bool | None,
        typer.Option(
            "--production/--staging",
            help="Say what it is; unsaid, any host that is not a known staging host is production.",
        ),
    ] = None,
    debug: opt.DebugOpt = False,
) -> int:
    """Add a profile to the config file (made, mode 0600, if there is none)."""
    from pathlib import Path

    from cart_cli.core import config

    if ca_bundle:
        ca_bundle = str(Path(ca_bundle).expanduser().resolve())
    profile = config.Profile(
        name,
        api_url=api_url,
        payment_url=payment_url,
        app_id=app_id,
        ca_bundle=ca_bundle,
        flow=flow,
        allow_http=allow_http,
        production=production,
    )
    env = opt.environment(ctx)
    path = _path(env)
    config.add_profile(path, profile)
    kind = "PRODUCTION" if _production(config.load(path).get(name)) else "staging"
    env.stderr.write(f"added profile {safe(name)} ({kind}) to {safe(path)}\n")
    return 0


def register(root: typer.Typer) -> None:
    root.add_typer(app)
