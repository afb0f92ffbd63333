"""docs/reference.md is generated from the command tree (scripts/gen_reference.py) and current:
a command or option added, renamed or re-described without `make reference` fails here."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "gen_reference.py"


def generator():
    spec = importlib.util.spec_from_file_location("gen_reference", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (dataclasses look their module up)
    spec.loader.exec_module(module)
    return module


def test_the_reference_is_current():
    gen = generator()
    on_disk = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    assert gen.render() == on_disk, (
        "docs/reference.md is not current: run `make reference` "
        "(python scripts/gen_reference.py) and commit docs/reference.md"
    )


def test_every_command_and_option_is_in_it():
    """Checked against the tree itself, not through the generator's own walk."""
    from cart_cli.cli import command

    text = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    seen = 0

    def walk(cmd, path):
        nonlocal seen
        assert f"## {path}\n" in text, path
        for p in cmd.params:
            if getattr(p, "param_type_name", "") == "option" and not p.hidden:
                assert any(f"`{o}" in text for o in p.opts), (path, p.opts)
                seen += 1
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            walk(sub, f"{path} {name}")

    walk(command(), "cart-cli")
    assert seen > 50


def test_check_mode_names_the_command_to_run(tmp_path: Path, capsys):
    """The stale page's message says what to run; --check changes nothing."""
    gen = generator()
    stale = tmp_path / "reference.md"
    stale.write_text(gen.render().replace("## cart-cli batch", "## cart-cli batsh"))
    gen.PAGE = stale
    assert gen.main(["--check"]) == 1
    assert "batsh" in stale.read_text()
    assert "run `make reference`" in capsys.readouterr().err
    assert gen.main([]) == 0 and gen.main(["--check"]) == 0


def test_the_script_runs_as_make_runs_it():
    ran = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert ran.returncode == 0, ran.stderr


def test_each_command_s_summary_is_one_line_in_the_command_list():
    """`cart-cli --help` lists each command with its help's first paragraph as written: a line
    break inside it shows there as a break in mid-sentence."""
    from cart_cli.cli import command

    broken = []

    def walk(cmd, path):
        first = (cmd.help or "").strip().split("\n\n")[0]
        if "\n" in first:
            broken.append(path)
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            walk(sub, f"{path} {name}")

    walk(command(), "cart-cli")
    assert broken == []


@pytest.mark.parametrize(
    "args", [["--help"], ["place", "--help"], ["products", "show", "-h"], [], ["products"]]
)
def test_piped_help_is_not_padded_to_the_console_width(args):
    """`cart-cli --help | head -1` printed a line of 80 spaces: rich pads help lines to the
    console's width and opens with a blank line. Piped, the first line is the usage."""
    from tests.helpers import cli

    r = cli(args)
    assert r.code in (0, 2)  # a group given no command shows its help, exit 2
    lines = r.stdout.splitlines()
    assert lines[0].startswith(" Usage: cart-cli"), lines[:2]
    assert [x for x in lines if x != x.rstrip()] == []
