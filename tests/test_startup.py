"""What the installed `cart-cli` loads for quick answers: a version check loads no CLI framework,
help loads no HTTP, crypto or validation library, and output meant for programs loads no rich.
Each run is the real console script under `python -X importtime`, which lists every module."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cart_cli.cli import COMMANDS
from tests.helpers import CLI, SAMPLES, target

pytestmark = pytest.mark.slow
NOT_FOR_HELP = (
    "requests",
    "jose",
    "cryptography",
    "pydantic",
    "pydantic_core",
    "starlette",
    "uvicorn",
    "yaml",
    "sseclient",
    "urllib3",
    "markdown_it",  # typer's help renderer imports these, but never uses them for cart-cli
    "pygments",
)


def imported(args: list[str], **kw) -> tuple[subprocess.CompletedProcess, set[str]]:
    p = subprocess.run(
        [sys.executable, "-X", "importtime", CLI, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        **kw,
    )
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in p.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return p, modules


def top_level(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_version_imports_no_cli_framework():
    p, modules = imported(["--version"])
    assert p.returncode == 0 and p.stdout == "cart-cli 0.1.0\n"
    assert not top_level(modules) & {"typer", "click", "rich", "cart_cli.cli"}
    assert "cart_cli.cli" not in modules


@pytest.mark.parametrize(
    "args", [["--help"], ["place", "--help"], ["batch", "-h"], ["sandbox", "--help"]]
)
def test_help_imports_no_heavy_library(args):
    p, modules = imported(args)
    assert p.returncode == 0 and "Usage" in p.stdout
    assert sorted(top_level(modules) & set(NOT_FOR_HELP)) == []


def test_json_and_piped_place_import_no_rich(cart_sandbox, tmp_path):
    # Progress as plain lines on a piped stderr, the result as JSON: nothing is drawn.
    order = SAMPLES / "one-item.yaml"
    for extra in (["--json"], ["--json", "--no-sse"], ["--dry-run"]):
        p, modules = imported(["place", order, *extra, *target(cart_sandbox)], cwd=tmp_path)
        assert p.returncode == 0, p.stderr[-2000:]
        assert p.stdout.startswith("{") and (extra == ["--dry-run"] or "order placed" in p.stderr)
        assert "rich" not in top_level(modules), extra
        # The order is read by core/shapes.py: pydantic stays the sandbox's.
        assert not top_level(modules) & {"pydantic", "pydantic_core"}, extra


def commands_loaded(args: list[str], **env) -> list[str]:
    """The command modules a real run of ``args`` imported (read after main() has ended)."""
    code = (
        "import os, sys\n"
        f"sys.argv = ['cart-cli', *{args!r}]\n"
        "from cart_cli.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('cart_cli.cli.commands.'))\n"
        "os.write(2, ('\\nloaded: ' + ' '.join(loaded) + '\\n').encode())\n"
    )
    p = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **env},
    )
    (line,) = [x for x in p.stderr.splitlines() if x.startswith("loaded:")]
    return [m.rsplit(".", 1)[1] for m in line.split()[1:]]


ALL = sorted(COMMANDS)


def test_a_run_builds_only_the_command_it_runs():
    assert commands_loaded(["place", "--help"]) == ["place"]
    assert commands_loaded(["cart", "show", "--help"]) == ["cart"]
    assert commands_loaded(["validate", str(SAMPLES / "one-item.yaml")]) == ["validate"]


def test_the_list_of_commands_and_completion_build_them_all():
    assert commands_loaded(["--help"]) == ALL
    assert commands_loaded([]) == ALL  # no arguments: the root's help
    assert commands_loaded(["plcae"]) == ALL  # no such command: said by the parser
    words = {"COMP_WORDS": "cart-cli pro", "COMP_CWORD": "1"}
    assert commands_loaded([], _CART_CLI_COMPLETE="complete_bash", **words) == ALL


def test_building_a_command_again_gives_the_same_tree():
    """A process may build the tree more than once (the tests do): no option is added twice."""
    from cart_cli.cli import command

    def options(tree, *path):
        for name in path:
            tree = tree.commands[name]
        return [p.name for p in tree.params]

    first = options(command("place"), "place")
    assert first == options(command("place"), "place") == options(command(), "place")
    assert "api_url" in first and first.count("api_url") == 1
    assert options(command("cart"), "cart", "show") == options(command(), "cart", "show")


def test_a_command_collects_garbage_rarely_over_a_frozen_start():
    # No collection while modules load; then the start-up heap is frozen and collection is on,
    # every 100,000 allocations: a long batch still collects its cycles.
    code = (
        "import atexit, gc, sys\n"
        "from cart_cli.__main__ import main\n"
        "atexit.register(lambda: print(gc.isenabled(), gc.get_threshold(),"
        " gc.get_freeze_count() > 10_000, file=sys.stderr))\n"
        "sys.argv = ['cart-cli', 'profile', 'list']\n"
        "main()\n"
    )
    p = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert p.returncode == 0, p.stderr
    assert p.stderr.splitlines()[-1] == "True (100000, 50, 100) True"


def test_a_piped_receipt_loads_no_rich(cart_sandbox, tmp_path):
    # The usual receipt, piped, is drawn without rich (ui/receipt.plain_receipt: what rich
    # would draw, tests/test_render.py checks it), so a piped `place` loads no rich at all.
    p, modules = imported(["place", SAMPLES / "one-item.yaml", *target(cart_sandbox)], cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.startswith("Order ") and "┏" in p.stdout and "Request id" in p.stdout
    assert "rich" not in top_level(modules)
