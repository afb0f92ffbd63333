"""What the installed `cart-cli` loads for quick answers: a version check loads no CLI framework,
help loads no HTTP, crypto or validation library, and output meant for programs loads no rich.
Each run is the real console script under `python -X importtime`, which lists every module."""

from __future__ import annotations

import subprocess
import sys

import pytest

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
