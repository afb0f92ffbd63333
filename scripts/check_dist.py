"""Check what `make dist` built, installed as users install it (run by `make dist`).

For the wheel in DIST: pip into an empty venv, `pipx install` and `uv tool install` (each with
homes of its own under a temporary folder), and for this repository's HEAD `pip install
git+file://...`. Each installed cart-cli then runs, from an empty folder, `--version`,
`place --sandbox` (the example order that ships inside the package) and `init --ci github`
(whose install line must name the wheel it was installed from). Exit 0 when all pass."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 600


def run(args: list, cwd: Path | None = None, env: dict | None = None) -> str:
    print("+", " ".join(map(str, args)), flush=True)
    p = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {p.stdout}{p.stderr}")
    return p.stdout


def try_cli(cli: Path, work: Path, wheel: Path | None) -> None:
    """The installed cart-cli, from an empty folder, as a new user's first commands."""
    empty = work / f"empty-{cli.parent.parent.name}"
    empty.mkdir()
    assert run([cli, "--version"], cwd=empty).startswith("cart-cli ")
    out = run([cli, "place", "--sandbox", "-q"], cwd=empty)
    assert "Order 000000001" in out, out
    if wheel is not None:
        run([cli, "init", "proj", "--ci", "github"], cwd=empty)
        flow = (empty / "proj/.github/workflows/cart-cli-smoke.yml").read_text()
        assert f"python -m pip install ./tools/{wheel.name}" in flow, flow
        assert (empty / "proj/tools" / wheel.name).read_bytes() == wheel.read_bytes()
        out = run([cli, "batch", "smoke/", "--sandbox", "--no-history", "-q"], cwd=empty / "proj")
    print(f"ok: {cli}", flush=True)


def main() -> None:
    dist = Path(sys.argv[1]).resolve()
    (wheel,) = dist.glob("cart_cli-*.whl")
    (sdist,) = dist.glob("cart_cli-*.tar.gz")
    print(f"checking {wheel.name} and {sdist.name}", flush=True)
    tools = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="cart-cli-dist-") as tmp:
        work = Path(tmp)
        home = {"HOME": str(work / "home"), "XDG_DATA_HOME": str(work / "home/data")}
        home |= {"XDG_CONFIG_HOME": str(work / "home/config")}
        home |= {"XDG_CACHE_HOME": str(work / "home/cache")}
        for var in ("CART_CLI_CONFIG", "CART_CLI_DATA_DIR", "CART_CLI_CACHE_DIR"):
            os.environ.pop(var, None)
        os.environ.update(home)

        # pip, into an empty venv
        venv.create(work / "pip", with_pip=True)
        run([work / "pip/bin/python", "-m", "pip", "install", "--quiet", wheel])
        try_cli(work / "pip/bin/cart-cli", work, wheel)

        # pipx
        env = {"PIPX_HOME": str(work / "pipx"), "PIPX_BIN_DIR": str(work / "pipx/bin")}
        run([tools / "pipx", "install", wheel], env=env)
        try_cli(work / "pipx/bin/cart-cli", work, wheel)

        # uv tool
        env = {"UV_TOOL_DIR": str(work / "uv"), "UV_TOOL_BIN_DIR": str(work / "uv/bin")}
        run([tools / "uv", "tool", "install", wheel], env=env)
        try_cli(work / "uv/bin/cart-cli", work, wheel)

        # pip from this repository's git (HEAD: what is committed)
        if (ROOT / ".git").exists() and shutil.which("git"):
            venv.create(work / "git", with_pip=True)
            url = f"git+{ROOT.as_uri()}"
            run([work / "git/bin/python", "-m", "pip", "install", "--quiet", url])
            try_cli(work / "git/bin/cart-cli", work, None)
    print("dist: all checks passed")


if __name__ == "__main__":
    main()
