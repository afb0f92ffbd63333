"""Test helpers shared by the suites: running the CLI, orders, and the secrets check."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_orders"
CLI = str(Path(sys.executable).with_name("cart-cli"))

# A card that only tests use, with a CVV that appears nowhere else: if either shows up in any
# output, log, report, ledger or cache file, a secret leaked.
SECRET_NUMBER = "4242424242424242"
SECRET_CVV = "8317"
SECRET_CARD = {
    "number": SECRET_NUMBER,
    "name": "Sec Ret",
    "month": 11,
    "year": 2031,
    "cvv": SECRET_CVV,
}
ADDRESS = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "phone": "2065551212",
    "address1": "1 Main St",
    "city": "Seattle",
    "state_or_province": "WA",
    "country": "US",
    "postal_code": "98101",
}
ANSI = re.compile(r"\x1b\[")
CVV_LEAK = re.compile(rf"""["']{SECRET_CVV}["']|(?i:cvv|verification_value)\W{{0,8}}{SECRET_CVV}""")


def order_doc(**over) -> dict:
    doc = {
        "merchant": "staging.luma.gift",
        "items": [{"variant_id": "WS12-XS-Orange", "quantity": 1}],
        "shipping_info": dict(ADDRESS),
        "card": "test:visa",
    }
    doc.update(over)
    return doc


def write_order(path: Path, **over) -> Path:
    path.write_text(yaml.safe_dump(order_doc(**over), sort_keys=False))
    return path


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


def cli(args: list[str], *, env: dict | None = None, input: str | None = None) -> Run:
    """Run the CLI in-process (typer's runner), stdout and stderr apart; then check secrets."""
    from typer.testing import CliRunner

    from cart_cli.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args], env=env, input=input)
    run = Run(result.exit_code, result.stdout, result.stderr)
    check_run(run)
    return run


def cli_subprocess(
    args: list[str], *, env: dict | None = None, input: str | None = None, timeout: float = 60
) -> Run:
    """Run the installed `cart-cli` console script."""
    full_env = {**os.environ, **(env or {})}
    p = subprocess.run(
        [CLI, *map(str, args)],
        capture_output=True,
        text=True,
        env=full_env,
        input=input,
        timeout=timeout,
    )
    run = Run(p.returncode, p.stdout, p.stderr)
    check_run(run)
    return run


def check_run(run: Run, cwd: Path | None = None) -> None:
    """The secrets check every end-to-end run goes through: no card number (any test card, in
    full) or test CVV in stdout or stderr, nor in the ledger, reports or token cache it left;
    no full token outside the token cache."""
    cwd = cwd or Path.cwd()
    cache = Path(os.environ.get("CART_CLI_CACHE_DIR", cwd / "cache"))
    written = [p for p in cwd.glob("*") if p.is_file() and p.suffix in (".jsonl", ".xml")]
    tokens = cached_tokens(cache) if cache.is_dir() else []
    assert_no_secrets(
        run.stdout,
        run.stderr,
        paths=[*written, *([cache] if cache.is_dir() else [])],
        tokens=tokens,
        token_free_paths=written,
    )


def target(sandbox) -> list[str]:
    return ["--api-url", sandbox.url, "--payment-url", sandbox.url, "--app-id", "tests"]


def sandbox_orders(sandbox) -> list[dict]:
    return requests.get(f"{sandbox.url}/__sandbox/orders", timeout=10).json()["orders"]


def assert_no_secrets(
    *texts: str, paths: list[Path] = (), tokens: list[str] = (), token_free_paths: list[Path] = ()
) -> None:
    """No card number or CVV in any text or file under ``paths``; no full token in the texts or
    in ``token_free_paths`` (the token cache itself may, of course, hold the token)."""
    from cart_cli.wire.cards import TEST_CARDS

    number_forms = [SECRET_NUMBER, "4242 4242 4242 4242", "4242-4242-4242-4242"]
    number_forms += [c.number for c in TEST_CARDS]
    blobs = [("output", t) for t in texts]
    for root in paths:
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        blobs += [(str(f), f.read_text("utf-8", "replace")) for f in files]
    for where, blob in blobs:
        for form in number_forms:
            assert form not in blob, f"card number leaked into {where}"
        # Four digits turn up by chance in ids, tokens and timings, so look for the CVV the way
        # a leak would show it: as a quoted value, or next to its name.
        assert not CVV_LEAK.search(blob), f"CVV leaked into {where}"
        assert "verification_value" not in blob, f"the card payload leaked into {where}"
    token_blobs = [("output", t) for t in texts]
    for root in token_free_paths:
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        token_blobs += [(str(f), f.read_text("utf-8", "replace")) for f in files]
    for token in tokens:
        for where, blob in token_blobs:
            assert token not in blob, f"access token leaked into {where}"


def cached_tokens(cache_dir: Path) -> list[str]:
    out = []
    for f in cache_dir.glob("session-*.json"):
        out.append(json.loads(f.read_text())["access_token"])
    return out
