"""Test helpers shared by the suites: running the CLI, orders, and the secrets check."""

from __future__ import annotations

import io
import json
import os
import re
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import requests
import yaml

# The tests' clock: today, or CART_CLI_NOW (e.g. 2031-09-01) to run the suite at another date.
TODAY = (
    date.fromisoformat(os.environ["CART_CLI_NOW"][:10])
    if os.environ.get("CART_CLI_NOW")
    else date.today()
)
GOOD_YEAR = TODAY.year + 3  # an expiry year that is always in the future


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
    "year": GOOD_YEAR,
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

# A server stall the client gives up on (x-sandbox-fault: stall:STALL with --timeout
# STALL_TIMEOUT): the timeout is generous for every call before the stalled one, which takes
# far longer on a loaded machine than on an idle one (a 0.5 s timeout could hit the token call:
# exit 7, not 8), and the stall is well beyond it.
STALL_TIMEOUT = "2"
STALL = 5

ANSI_SEQUENCE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # a whole one, to strip
CVV_LEAK = re.compile(rf"""["']{SECRET_CVV}["']|(?i:cvv|verification_value)\W{{0,8}}{SECRET_CVV}""")


def inputs(env: dict | None = None, **kw):
    """What the core reads orders with, as the tests' Environment gives it."""
    from cart_cli.core.order import Inputs

    return Inputs(env or {}, TODAY, **kw)


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


def make_env(env: dict | None = None, input: str | bytes | None = None):
    """An Environment like main() makes, on in-memory streams (none of them a terminal)."""
    from cart_cli.cli.env import Environment
    from cart_cli.wire.clock import clock_from

    environ = {k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None}
    raw = input.encode() if isinstance(input, str) else (input or b"")
    return Environment(
        stdin=io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        environ=environ,
        clock=clock_from(environ),
    )


def cli(args: list[str], *, env: dict | None = None, input: str | bytes | None = None) -> Run:
    """Run the CLI in-process through main()'s boundary, stdout and stderr apart; then check
    secrets. ``env`` adds environment variables (click reads option defaults from the process)."""
    from unittest import mock

    from cart_cli.cli import run

    environment = make_env(env, input)
    with mock.patch.dict(os.environ, environment.environ, clear=True):
        code = run([str(a) for a in args], environment)
    result = Run(code, environment.stdout.getvalue(), environment.stderr.getvalue())
    check_run(result)
    return result


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


class _Http:
    """``requests`` with a timeout on every call: a test never hangs on the network."""

    TIMEOUT = 10

    def request(self, method: str, url: str, **kw):
        kw.setdefault("timeout", self.TIMEOUT)
        return requests.request(method, url, **kw)

    def get(self, url: str, **kw):
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw):
        return self.request("POST", url, **kw)


http = _Http()


def sandbox_orders(sandbox) -> list[dict]:
    return http.get(f"{sandbox.url}/__sandbox/orders").json()["orders"]


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


READ_SYSCALLS = {0, 63}  # read(2) on x86-64 and on arm64


def wait_reading_stdin(pid: int, timeout: float = 30) -> None:
    """Wait until process ``pid`` is blocked reading its standard input (Linux /proc): the moment
    to interrupt a prompt, without guessing with a sleep."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            fields = Path(f"/proc/{pid}/syscall").read_text().split()
        except OSError:
            fields = []
        reading = len(fields) > 1 and fields[0].isdigit() and int(fields[0]) in READ_SYSCALLS
        if reading and int(fields[1], 16) == 0:  # read(0, ...): fd 0 is standard input
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} never waited on standard input")


def spawn_on_a_pty(args, env: dict | None = None):
    """`cart-cli ARGS` with a terminal on stdin, stdout and stderr: (pid, the terminal's fd)."""
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: cart-cli with a terminal on stdin, stdout and stderr
        os.environ.update(env or {})
        os.execv(CLI, [CLI, *map(str, args)])
    return pid, fd


def read_until(fd, marker: bytes, seen: bytes = b"", timeout: float = 20) -> bytes:
    deadline = time.monotonic() + timeout
    while marker not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    assert marker in seen, seen
    return seen


def pty_exit_code(pid, fd) -> tuple[int, bytes]:
    rest = b""
    while True:  # drain until the child closes the terminal
        ready, _, _ = select.select([fd], [], [], 20)
        if not ready:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        rest += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), rest
