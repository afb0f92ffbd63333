"""Write docs/reference.md: every command and option of cart-cli, read from the command tree.

    python scripts/gen_reference.py           # (re)write docs/reference.md  (make reference)
    python scripts/gen_reference.py --check   # exit 1 if docs/reference.md is not current

Nothing here knows the commands: it walks the click tree that typer builds (commands, groups,
arguments, options, their help panels), so a new command or option appears after a rerun.
Options shared by many commands (the "Where to send" target options) are listed once.
The page depends on the code only, never on the machine, the environment or the terminal."""

from __future__ import annotations

import argparse
import difflib
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click  # (typer may vendor its own click: checked by duck typing below)

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "reference.md"
COMMAND = "make reference"  # what a stale page asks the reader to run
SHARED_MIN_COMMANDS = 3  # a panel in this many commands ...
SHARED_MIN_OPTIONS = 3  # ... with this many options the same in all of them is listed once
DEFAULT_PANEL = "Options"


def root_command() -> click.Command:
    sys.path.insert(0, str(ROOT))
    import cart_cli.cli as cli

    if hasattr(cli, "command"):  # the tree as main() runs it (flags tidied)
        return cli.command()
    import typer

    return typer.main.get_command(cli.app)


# ---- one command ---------------------------------------------------------------------------
@dataclass
class Page:
    path: str  # "cart-cli cart add"
    usage: str
    help: str
    arguments: list[str] = field(default_factory=list)
    panels: dict[str, list[str]] = field(default_factory=dict)  # panel -> option lines
    subcommands: list[tuple[str, str]] = field(default_factory=list)  # (name, short help)


TYPE_NAMES = {"str": "TEXT", "string": "TEXT", "int": "INTEGER", "integer": "INTEGER"}
TYPE_NAMES["float"] = "NUMBER"


def value_of(param: click.Parameter) -> str:
    """What follows the option on the command line: its metavar, else its type's name."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return ""
    if param.metavar:
        return param.metavar
    t = param.type
    if getattr(t, "choices", None):
        return "|".join(map(str, t.choices))
    name = getattr(t, "name", "") or type(t).__name__
    name = name.lower().replace(" range", "")
    return TYPE_NAMES.get(name, name.upper())


def facts(param: click.Parameter) -> list[str]:
    out = []
    describe = getattr(param.type, "_describe_range", None)
    if describe is not None:
        out.append(describe().replace("<=", " ≤ ").replace(">=", " ≥ ").replace("  ", " "))
    default = param.default
    shown = getattr(param, "show_default", None)
    if (
        default is not None
        and default is not False
        and default not in ((), [], "")
        and shown is not False
        and not callable(default)
        and not getattr(param, "is_flag", False)
    ):
        out.append(f"default: `{default}`")
    said = (getattr(param, "help", None) or "").lower()
    if getattr(param, "multiple", False) and is_option(param) and "repeatable" not in said:
        out.append("repeatable")
    if param.required and is_option(param):
        out.append("required")
    envvar = param.envvar
    if envvar:
        names = [envvar] if isinstance(envvar, str) else list(envvar)
        out.append("env " + ", ".join(f"`{n}`" for n in names))
    return out


def text(help_text: str | None) -> str:
    """Help text as Markdown: click's \\b markers dropped, lines joined within a paragraph."""
    if not help_text:
        return ""
    paragraphs = help_text.replace("\b\n", "").strip().split("\n\n")
    paragraphs = [p.replace("*", "\\*").replace("<", "&lt;") for p in paragraphs]
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


def option_line(param: click.Option) -> str:
    names = sorted(param.opts, key=lambda o: (not o.startswith("--"), o))
    value = value_of(param)
    first = f"`{names[0]} {value}`" if value else f"`{names[0]}`"
    spelled = ", ".join([first, *(f"`{n}`" for n in names[1:])])
    if param.secondary_opts:
        spelled += " / " + ", ".join(f"`{n}`" for n in param.secondary_opts)
    about = text(getattr(param, "help", None)) or ""
    extra = facts(param)
    if extra:
        about = f"{about} ({'; '.join(extra)})" if about else f"({'; '.join(extra)})"
    return f"- {spelled}: {about}".rstrip(": ")


def argument_line(param: click.Argument, ctx: click.Context) -> str:
    metavar = param.metavar or param.make_metavar(ctx)
    metavar = metavar.strip("{}")
    about = text(getattr(param, "help", None))
    need = "" if param.required else "optional"
    extra = [x for x in [need, *facts(param)] if x]
    if extra:
        about = f"{about} ({'; '.join(extra)})" if about else f"({'; '.join(extra)})"
    return f"- `{metavar}`: {about}".rstrip(": ")


def is_option(param) -> bool:
    return getattr(param, "param_type_name", "") == "option"


def walk(cmd: click.Command, name: str, parent: click.Context | None, out: list[Page]) -> None:
    ctx = getattr(cmd, "context_class", click.Context)(cmd, info_name=name, parent=parent)
    path = ctx.command_path
    usage = " ".join([path, *(p.strip("{}") for p in cmd.collect_usage_pieces(ctx))])
    page = Page(path=path, usage=usage, help=text(cmd.help))
    if cmd.epilog:
        page.help += "\n\n" + text(cmd.epilog)
    for param in cmd.params:
        if getattr(param, "hidden", False):
            continue
        if getattr(param, "param_type_name", "") == "argument":
            page.arguments.append(argument_line(param, ctx))
        elif is_option(param):
            panel = getattr(param, "rich_help_panel", None) or DEFAULT_PANEL
            page.panels.setdefault(panel, []).append(option_line(param))
    out.append(page)
    if hasattr(cmd, "list_commands"):  # a group
        for sub_name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, sub_name)
            if sub is None or getattr(sub, "hidden", False):
                continue
            page.subcommands.append((sub_name, text(sub.get_short_help_str(limit=300))))
            walk(sub, sub_name, ctx, out)


# ---- the page ------------------------------------------------------------------------------
def anchor(heading: str) -> str:
    """GitHub's anchor for a heading (as tests/test_docs.py checks it)."""
    import re

    t = re.sub(r"[`*_]", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", t).replace(" ", "-")


def shared_panels(pages: list[Page]) -> dict[str, list[str]]:
    """Panels whose options are the same in many commands: panel -> the common option lines."""
    shared = {}
    names = {p for page in pages for p in page.panels}
    for panel in sorted(names):
        having = [page.panels[panel] for page in pages if panel in page.panels]
        if len(having) < SHARED_MIN_COMMANDS or panel == DEFAULT_PANEL:
            continue
        common = [line for line in having[0] if all(line in lines for lines in having[1:])]
        if len(common) >= SHARED_MIN_OPTIONS:
            shared[panel] = common
    return shared


def render(root: click.Command | None = None) -> str:
    root = root or root_command()
    pages: list[Page] = []
    walk(root, "cart-cli", None, pages)
    shared = shared_panels(pages[1:])
    lines = [
        "# Command reference",
        "",
        "<!-- Generated by scripts/gen_reference.py from the command tree: do not edit by hand.",
        f"     After changing a command or an option, run `{COMMAND}`. -->",
        "",
        "Every command and option of cart-cli, as `cart-cli COMMAND --help` shows them; every",
        "command also takes `-h`/`--help`. What they do, with examples, is in the other pages",
        "of [docs/](../README.md#documentation).",
        "",
    ]
    for page in pages:
        lines.append(f"- [`{page.path}`](#{anchor(page.path)})")
    lines.append("")
    for panel, common in shared.items():
        lines += [f"## {panel} options", ""]
        lines.append(f"Taken by every command that lists [{panel}](#{anchor(panel + ' options')}):")
        lines += ["", *common, ""]
    for page in pages:
        lines += [f"## {page.path}", "", "```", page.usage, "```", ""]
        if page.help:
            lines += [page.help, ""]
        if page.subcommands:
            lines += ["Commands:", ""]
            lines += [
                f"- [`{name}`](#{anchor(page.path + ' ' + name)}): {about}".rstrip(": ")
                for name, about in page.subcommands
            ]
            lines.append("")
        if page.arguments:
            lines += ["Arguments:", "", *page.arguments, ""]
        for panel, options in page.panels.items():
            common = shared.get(panel, [])
            own = [line for line in options if line not in common]
            lines += [f"{panel}:", ""]
            if common and len(own) < len(options):
                lines.append(f"- the [{panel} options](#{anchor(panel + ' options')})")
            lines += [*own, ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the page is not current")
    args = ap.parse_args(argv)
    new = render()
    old = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
    if args.check:
        if new == old:
            return 0
        diff = difflib.unified_diff(
            old.splitlines(), new.splitlines(), "docs/reference.md", "generated", lineterm=""
        )
        print("\n".join(list(diff)[:60]), file=sys.stderr)
        print(f"docs/reference.md is not current: run `{COMMAND}`", file=sys.stderr)
        return 1
    if new != old:
        PAGE.write_text(new, encoding="utf-8")
        print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
