"""cart-cli init: a starter smoke suite, a commented config profile and, with --ci, a CI file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cart_cli.cli import options as opt
from cart_cli.core.errors import UsageError


def init(
    ctx: typer.Context,
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="[DIR]", help="Where to write (a repository's root).", show_default=False
        ),
    ] = Path("."),
    ci: Annotated[
        str | None,
        typer.Option(
            metavar="github|gitlab",
            help="Also write a CI file that installs cart-cli and runs the suite, sharded, with "
            "JUnit reports.",
            autocompletion=lambda incomplete: [
                k for k in ("github", "gitlab") if k.startswith(incomplete)
            ],
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="Run the suite against this profile (written to cart-cli.toml) instead of the "
            "sandbox the CI job starts.",
        ),
    ] = None,
    merchant: Annotated[
        str,
        typer.Option(metavar="DOMAIN", help="The suite's merchant."),
    ] = "staging.luma.gift",
    shards: Annotated[
        int, typer.Option(min=2, max=20, metavar="N", help="CI jobs the suite is split across.")
    ] = 2,
    install_spec: Annotated[
        str | None,
        typer.Option(
            metavar="SPEC",
            help="How the CI job installs cart-cli (pip's argument: a git URL at a commit, a "
            "wheel file or URL). Default: how this cart-cli was installed.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite files that exist already.")
    ] = False,
    quiet: opt.QuietOpt = False,
    debug: opt.DebugOpt = False,
) -> int:
    """Write a starter smoke suite, a commented config profile and, with --ci, a CI file.

    Its orders: placed, declined, out of stock, each with expect:. Existing files are kept."""
    from cart_cli.core import scaffold as sc
    from cart_cli.core.config import NAME

    env = opt.environment(ctx)
    if ci is not None and ci not in sc.CI_KINDS:
        raise UsageError(f"--ci {ci!r}: one of {', '.join(sc.CI_KINDS)}")
    if profile is not None and (not NAME.match(profile) or profile == "sandbox"):
        raise UsageError(
            f"--profile {profile!r}: a profile name is letters, digits, '-', '_' or '.' "
            "(and not 'sandbox', the built-in one: leave --profile out for the sandbox)"
        )
    merchant = opt.merchant_domain(merchant)
    install = None
    if ci is not None:
        install = sc.install_from_spec(install_spec) if install_spec else _this_install()
    plan = sc.scaffold(ci=ci, install=install, profile=profile, merchant=merchant, shards=shards)
    targets = [*plan.files, *plan.copies]
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory}: not a directory")
    existing = [t for t in targets if (directory / t).exists() or (directory / t).is_symlink()]
    if existing and not force:
        raise UsageError(
            f"not overwriting what is in {directory}: {', '.join(existing)}",
            hint="Move them away, pick another DIR, or pass --force to overwrite them.",
        )
    written: list[str] = []
    try:
        for rel, text in plan.files.items():
            _write(directory / rel, text.encode("utf-8"))
            written.append(rel)
        for rel, source in plan.copies.items():
            _write(directory / rel, source.read_bytes())
            written.append(rel)
    except OSError as e:
        for rel in written:  # nothing half-done: a suite without its CI file, say
            if rel not in existing:
                (directory / rel).unlink(missing_ok=True)
        raise UsageError(f"cannot write in {directory}: {e.strerror or e}") from None
    for rel in written:
        env.stdout.write(f"{directory / rel}\n")
    if not quiet:
        _next_steps(env, directory, plan, profile, ci)
    return 0


def _write(path: Path, data: bytes) -> None:
    from cart_cli.core.files import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, [data], mode=0o644)


def _this_install():
    """The install line for this very cart-cli, from its distribution's direct_url.json."""
    from importlib import metadata

    from cart_cli import __version__
    from cart_cli.core import scaffold as sc

    try:
        dist = metadata.distribution(sc.DIST)
    except metadata.PackageNotFoundError:
        raise sc.asking("it is not installed as a distribution (a source tree)") from None
    return sc.install_from_direct_url(dist.read_text("direct_url.json"), __version__)


def _next_steps(env, directory: Path, plan, profile: str | None, ci: str | None) -> None:
    import shlex

    say = env.stderr_console.print
    where = shlex.quote(str(directory))
    say("Next:", markup=False)
    if directory != Path("."):
        say(f"  cd {where}", markup=False)
    if profile:
        say(f"  edit cart-cli.toml ([profiles.{profile}]) and smoke/checkout.yaml", markup=False)
        say(f"  CART_CLI_CONFIG=cart-cli.toml cart-cli doctor --profile {profile}", markup=False)
        say(
            f"  CART_CLI_CONFIG=cart-cli.toml cart-cli batch smoke/ --profile {profile}",
            markup=False,
        )
    else:
        say("  cart-cli batch smoke/ --sandbox", markup=False)
    if ci is not None and plan.install is not None:
        say(
            f"  commit {', '.join(sorted({p.split('/')[0] for p in [*plan.files, *plan.copies]}))}",
            markup=False,
        )
        if profile:
            say("  add the CI secret CART_CLI_APP_ID", markup=False)
        say(f"CI installs cart-cli from {plan.install.origin}.", markup=False)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
