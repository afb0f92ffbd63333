"""The sandbox's abuse checks of issue 17 at full size, run by hand (too slow for the suite;
tests/test_sandbox_abuse.py runs smaller versions of each):

    .venv/bin/python scripts/sandbox_abuse.py [--sessions 60000]

1. 500 connections that never finish their request head are held: a legitimate request is
   answered within a second, and the held ones are closed within the head deadline.
2. The sandbox started with 1,024 file descriptors, 1,100 such connections held: a legitimate
   request is answered within 12 s, and the log holds no traceback (one line a second at most).
3. A 300 MiB request body: the sandbox's peak memory stays under 250 MB.
4. A 16 MiB header: a JSON 431.
5. --sessions sessions, each with a cart: memory before, after, and after a reset (60,000, the
   issue's figure, take several minutes; on 2 busy cores about six).

Loopback only; every connection is closed at the end. Prints one line per check, exits 1 if
any failed."""

from __future__ import annotations

import argparse
import http.client
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.abuse import (
    SandboxProcess,
    big_body,
    closed_by_server,
    hold_incomplete,
    raw_request,
    release,
    timed_get,
)

HEAD_TIMEOUT = 5.0  # cart_cli.sandbox.protocol.HEAD_TIMEOUT, as shipped


def report(ok: bool, what: str) -> bool:
    print(f"{'ok  ' if ok else 'FAIL'} {what}", flush=True)
    return ok


def held_500(folder: Path) -> bool:
    with SandboxProcess(folder / "held-500.log") as sb:
        held = hold_incomplete(sb.port, 500)
        try:
            took, status, _ = timed_get(sb.port)
            start = time.monotonic()
            while closed_by_server(held) < len(held) and time.monotonic() - start < 15:
                time.sleep(0.1)
            closed = closed_by_server(held)
        finally:
            release(held)
    ok = status == 200 and took < 1
    ok &= report(ok, f"500 held: a request answered {status} in {took:.3f} s")
    return report(closed == 500, f"500 held: {closed} closed by the sandbox") and ok


def fd_1024(folder: Path) -> bool:
    with SandboxProcess(folder / "fd-1024.log", nofile=1024) as sb:
        start = time.monotonic()
        held = hold_incomplete(sb.port, 1100)
        try:
            took, status, _ = timed_get(sb.port, timeout=30)
            since = time.monotonic() - start
        finally:
            release(held)
        log = sb.log()
    ok = report(
        status == 200 and since < 12,
        f"1,024 fds, 1,100 held: a request answered {status} in {took:.1f} s "
        f"({since:.1f} s after the first held one)",
    )
    lines = log.count("cannot accept connections")
    tracebacks = log.count("Traceback")
    return (
        report(
            tracebacks == 0 and lines <= since + 2,
            f"1,024 fds: {tracebacks} tracebacks, {lines} 'cannot accept' lines, "
            f"{len(log.encode())} bytes of log",
        )
        and ok
    )


def big(folder: Path) -> bool:
    with SandboxProcess(folder / "big.log") as sb:
        status, _, sent = big_body(sb.port, 300 << 20, "/api/v1/browser-session")
        peak = sb.peak_rss_mb()
        status431, body = raw_request(
            sb.port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (16 << 20) + b"\r\n\r\n"
        )
        peak = max(peak, sb.peak_rss_mb())
        log = sb.log()
    ok = report(
        status in (0, 400) and peak < 250,
        f"300 MiB body: answered {status or 'by closing'} after {sent >> 20} MiB sent; "
        f"peak RSS {peak:.0f} MB",
    )
    ok &= report(status431 == 431 and isinstance(body, dict), f"16 MiB header: {status431} {body}")
    return report("Traceback" not in log, "no traceback in the log") and ok


def sessions(folder: Path, n: int) -> bool:
    with SandboxProcess(folder / "sessions.log") as sb:
        conn = http.client.HTTPConnection("127.0.0.1", sb.port, timeout=30)

        def call(method: str, path: str, headers: dict) -> bytes:
            conn.request(method, path, body=b"{}", headers=headers)
            return conn.getresponse().read()

        call("GET", "/__sandbox/stock", {})
        before = sb.rss_mb()
        cart = "/api/v1/domains/staging.luma.gift/cart"
        for _ in range(n):
            token = json.loads(call("POST", "/api/v1/browser-session", {"x-firmly-app-id": "t"}))
            auth = {"x-firmly-authorization": token["access_token"]}
            call("POST", f"{cart}/line-items/WS12-XS-Orange/quantity/1", auth)
        after = sb.rss_mb()
        call("POST", "/__sandbox/reset", {})
        reset = sb.rss_mb()
        conn.close()
    return report(
        after < before + 150 and reset < before + 60,
        f"{n} sessions with a cart: RSS {before:.0f} -> {after:.0f} MB, {reset:.0f} MB after reset",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=60_000)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096:  # this process holds 1,100 sockets
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results = [held_500(folder), fd_1024(folder), big(folder), sessions(folder, args.sessions)]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
