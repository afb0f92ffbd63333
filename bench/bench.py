"""The benchmark of record: every figure of the performance issue, measured in one run, printed
with its target as met/missed; exit 1 on a miss.

    make bench        # or: .venv/bin/python bench/bench.py [--quick]

The machine is shared and noisy (2 cores), so figures are ratios against a reference measured in
the same run, from interleaved runs (medians of pairwise ratios), never absolute times. Every
server is a real `cart-cli sandbox` process on a free loopback port; every client is a real
process: `cart-cli` itself, or bench/reference_client.py, a minimal standalone client making the
same calls with the same libraries. Linux only (peak RSS from wait4, current RSS from /proc).

--quick runs fewer repetitions and smaller loads (a smoke test of the harness, not a record).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
CLI = str(BIN / "cart-cli")
ORDER = str(HERE / "order.yaml")
CATALOG = str(HERE / "catalog.yaml")
REFERENCE = str(HERE / "reference_client.py")


# ---- processes -------------------------------------------------------------------------------
@dataclass
class Ran:
    wall: float  # seconds
    cpu: float  # user + system seconds of the process (and its children)
    peak_rss: int  # KiB (wait4's: at least this process's own at the fork; see PEAK)
    code: int
    stdout: str
    stderr: str


def user_env(**extra: str) -> dict:
    """The environment of a user's shell: bytecode is cached (some sandboxes and CI set
    PYTHONDONTWRITEBYTECODE, which recompiles cart-cli's own modules on every run)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **extra}


def run(cmd: list[str], env: dict | None = None, check: bool = True) -> Ran:
    """Run a process to its end; its own wall time, CPU time and peak RSS (from wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env or user_env()
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        ran = Ran(
            wall,
            usage.ru_utime + usage.ru_stime,
            usage.ru_maxrss,
            proc.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )
    if check and ran.code != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} exited {ran.code}:\n{ran.stderr[-2000:]}")
    return ran


class SandboxProc:
    """`cart-cli sandbox` in its own process, on a free port, with the bench catalog."""

    def __init__(self, *args: str) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix="bench-sandbox-", suffix=".log")  # noqa: SIM115
        cmd = [CLI, "sandbox", "--port", "0", "--catalog", CATALOG, *args]
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            env=user_env(),
        )
        deadline = time.monotonic() + 30
        while True:
            text = Path(self.log.name).read_text(errors="replace")
            found = re.search(r"listening on (http://\S+)", text)
            if found:
                self.url = found.group(1)
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"bench: the sandbox did not start:\n{text}")
            time.sleep(0.02)
        self.port = int(self.url.rsplit(":", 1)[1])

    def rss(self) -> int:
        """Current resident set, KiB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise SystemExit("bench: no VmRSS in /proc (Linux only)")

    def env(self, cache: str) -> dict:
        return user_env(
            CART_CLI_API_URL=self.url,
            CART_CLI_PAYMENT_URL=self.url,
            CART_CLI_APP_ID="bench",
            CART_CLI_CACHE_DIR=cache,
        )

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def __enter__(self) -> SandboxProc:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def interleaved(a: list[str], b: list[str], n: int, env: dict | None = None):
    """Run the commands a and b n times each, alternating which goes first."""
    ra, rb = [], []
    for i in range(n):
        if i % 2:
            rb.append(run(b, env))
            ra.append(run(a, env))
        else:
            ra.append(run(a, env))
            rb.append(run(b, env))
    return ra, rb


def ratio(ra: list[Ran], rb: list[Ran], what: str = "wall") -> float:
    """The median of the pairwise ratios b/a of ``what`` (wall or cpu)."""
    return statistics.median(
        getattr(y, what) / getattr(x, what) for x, y in zip(ra, rb, strict=True)
    )


def median(runs: list[Ran], what: str = "wall") -> float:
    return statistics.median(getattr(r, what) for r in runs)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


# ---- the rows -------------------------------------------------------------------------------
@dataclass
class Row:
    figure: str
    target: str
    ok: Callable[[float], bool] | None  # None: skipped
    value: float = 0.0
    unit: str = "x"
    detail: str = ""

    @property
    def verdict(self) -> str:
        if self.ok is None:
            return "skipped"
        return "met" if self.ok(self.value) else "MISSED"


def rows_place(sb: SandboxProc, work: Path, n: int) -> list[Row]:
    """`place` piped and `place --json` against the standalone script, same sandbox, warm token
    caches: wall time, the median of the ratios of interleaved pairs."""
    env = sb.env(str(work / "cache-place"))
    token_file = str(work / "reference-token.json")
    place = [CLI, "place", ORDER]
    reference = [sys.executable, REFERENCE, ORDER, "--url", sb.url, "--token-file", token_file]
    run(place, env), run(reference, env)  # warm both token caches (and bytecode)
    rows = []
    for figure, target, cmd in (
        ("`place` piped vs the reference client", 1.3, place),
        ("`place --json` vs the reference client", 1.25, [*place, "--json"]),
    ):
        ref, ours = interleaved(reference, cmd, n, env)
        rows.append(
            Row(
                figure,
                f"<= {target:g}x",
                lambda r, t=target: r <= t,
                ratio(ref, ours),
                detail=f"wall: cart-cli {ms(median(ours))}, bench/reference_client.py "
                f"{ms(median(ref))} (medians of {n} interleaved pairs); CPU "
                f"{ms(median(ours, 'cpu'))} vs {ms(median(ref, 'cpu'))} "
                f"({ratio(ref, ours, 'cpu'):.2f}x)",
            )
        )
    return rows


def cpu_row(figure: str, target: float, a: list[str], b: list[str], n: int) -> Row:
    run(b)  # bytecode written
    ra, rb = interleaved(a, b, n)
    return Row(
        figure,
        f"<= {target:g}x",
        lambda r: r <= target,
        ratio(ra, rb, "cpu"),
        detail=f"CPU time: {' '.join(b[-1:])} {ms(median(rb, 'cpu'))}, "
        f"reference {ms(median(ra, 'cpu'))}",
    )


def row_version(n: int) -> Row:
    bare = [sys.executable, "-c", "pass"]
    return cpu_row("`--version` vs `python -c pass`", 2, bare, [CLI, "--version"], n)


def row_help(n: int) -> Row:
    figure = "`place --help` vs httpie's `http --help`"
    http = shutil.which("http", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if not http:
        why = "httpie is not installed (make bench installs it: pip install -e '.[bench]')"
        return Row(figure, "<= 0.55x", None, detail=why)
    row = cpu_row(figure, 0.55, [http, "--help"], [CLI, "place", "--help"], n)
    ra, rb = interleaved([http, "--help"], [CLI, "--help"], 5)
    row.detail += f"; cart-cli --help {ms(median(rb, 'cpu'))} ({ratio(ra, rb, 'cpu'):.2f}x)"
    return row


def row_embedded(sb: SandboxProc, work: Path, n: int) -> Row:
    env = sb.env(str(work / "cache-embedded"))
    place = [CLI, "place", ORDER]
    embedded = [CLI, "place", ORDER, "--sandbox"]
    run(place, env)  # warm token
    running, ours = interleaved(place, embedded, n, env)
    return Row(
        "`place --sandbox` vs `place` against a running sandbox",
        "<= 1.2x",
        lambda r: r <= 1.2,
        ratio(running, ours),
        detail=f"wall: --sandbox {ms(median(ours))}, running sandbox {ms(median(running))}",
    )


def median_time(fn: Callable[[], object], n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def row_decrypt() -> Row:
    """The sandbox keeps its private key parsed: a regression to parsing it per request shows."""
    from cryptography.hazmat.primitives import serialization
    from jose import jwe
    from reference_client import card_payload

    from cart_cli.core.crypto import PublicKey, encrypt_card
    from cart_cli.sandbox.keyring import KeyRing

    ring = KeyRing()
    token = encrypt_card(card_payload("test:visa"), PublicKey(ring.kid, ring.jwk))
    pem = ring.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    loaded = median_time(lambda: jwe.decrypt(token, ring.private_key), 50)

    def per_request():
        jwe.decrypt(token, serialization.load_pem_private_key(pem, password=None))

    parsed = median_time(per_request, 10)
    return Row(
        "sandbox card decryption: PEM parsed per request vs key kept",
        ">= 20x",
        lambda r: r >= 20,
        parsed / loaded,
        detail=f"parsed per request {parsed * 1000:.1f} ms, key kept {loaded * 1000:.2f} ms",
    )


# ---- batch reports (the JUnit rows) -------------------------------------------------------
def orders_file(folder: str, skus: list[str]) -> Path:
    """A multi-order file: one order of each sku, with the bench order's address and card."""
    import yaml

    with open(ORDER) as f:
        order = yaml.safe_load(f)
    defaults = {k: order[k] for k in ("merchant", "shipping_info", "card")}
    orders = [{"items": [{"variant_id": s, "quantity": 1}]} for s in skus]
    path = Path(folder) / "o.yaml"
    path.write_text(yaml.safe_dump({"defaults": defaults, "orders": orders}))
    return path


def _inputs():
    """What orders are read with here: this process's environment and today."""
    from datetime import date

    from cart_cli.core.order import Inputs

    return Inputs(os.environ, date.today())


def _synthetic_summary(n: int):
    """A finished batch of n orders (placed, declined, unknown, not run), no network."""
    from cart_cli.core import runner
    from cart_cli.core.checkout import OrderResult
    from cart_cli.core.errors import ApiError, OutcomeUnknown
    from cart_cli.core.order import load_orders
    from cart_cli.core.plan import Job

    with tempfile.TemporaryDirectory() as d:
        [(_, order)] = load_orders(orders_file(d, ["24-MB01"]), inputs=_inputs())
    outcomes = []
    for i in range(n):
        job = Job("o.yaml", "/x/o.yaml", i, 0, order, "0123456789abcdef", i)
        kind = i % 4
        if kind == 0:
            order_doc = {"platform_order_number": f"{i:09d}", "cart_id": f"c{i}"}
            r = OrderResult(order.merchant, True, order=order_doc, stage_ms={"submit": 3})
            outcomes.append(runner.JobOutcome(job, runner.PLACED, r, seconds=0.4))
        elif kind == 1:
            err = ApiError("ErrorPaymentDeclined", "declined", request_id=f"r{i}")
            r = OrderResult(order.merchant, False, error=err)
            outcomes.append(runner.JobOutcome(job, runner.FAILED, r, seconds=0.2))
        elif kind == 2:
            err = OutcomeUnknown("the event stream broke off", request_id=f"r{i}")
            r = OrderResult(order.merchant, False, error=err)
            outcomes.append(runner.JobOutcome(job, runner.FAILED, r, seconds=0.3))
        else:
            outcomes.append(runner.JobOutcome(job, runner.NOT_RUN, note="interrupted"))
    return runner.Summary(outcomes=outcomes, elapsed=12.5)


def row_junit_write(n: int = 2000) -> Row:
    from cart_cli.core.reports import write_junit

    summary = _synthetic_summary(n)
    with tempfile.TemporaryDirectory() as d:
        seconds = median_time(lambda: write_junit(Path(d) / "junit.xml", summary), 3)
    return Row(
        f"JUnit report of {n:,} orders written",
        "< 1 s",
        lambda v: v < 1,
        seconds,
        unit=" s",
        detail=f"{n:,} testcases in {seconds * 1000:.0f} ms (one pass, at the end)",
    )


def row_junit_batch(n: int = 100, rounds: int = 5) -> Row:
    """Wall time of a batch (run, then its JUnit report) with and without --junit."""
    from cart_cli.core import plan, runner
    from cart_cli.core.client import Client, Endpoints
    from cart_cli.core.reports import write_junit
    from cart_cli.sandbox import Sandbox

    skus = ["WS12-XS-Orange", "MH07-XS-Gray", "WJ06-S-Blue", "24-MB01", "24-WG085"]
    with tempfile.TemporaryDirectory() as d, Sandbox() as sb:
        f = orders_file(d, skus)
        jobs = plan.plan(plan.collect([str(f)], _inputs()), repeat=n // len(skus))
        times: dict[bool, list[float]] = {True: [], False: []}
        for k in range(rounds):  # alternating which goes first; the best of each counts
            for junit in (False, True) if k % 2 else (True, False):
                sb.reset()
                client = Client(Endpoints(sb.url, sb.url, "bench"), pool_size=8)
                t = time.perf_counter()
                summary = runner.run(client, jobs, concurrency=8)
                if junit:
                    write_junit(Path(d) / "junit.xml", summary)
                times[junit].append(time.perf_counter() - t)
                client.close()
                assert summary.count("placed") == len(jobs), summary.to_json()["problems"]
    with_junit, without = min(times[True]), min(times[False])
    return Row(
        "batch with --junit vs without",
        "<= 1.1x",
        lambda r: r <= 1.1,
        with_junit / without,
        detail=f"{n} orders at concurrency 8: with --junit {with_junit:.2f} s, "
        f"without {without:.2f} s (best of {rounds} alternating rounds)",
    )


# Runs a console script and, at its exit, writes its own peak RSS (VmHWM, KiB) to the file
# $BENCH_PEAK_FILE. wait4's ru_maxrss cannot be used for it: a child forked from this process
# (which by then holds a sandbox, uvicorn and cryptography from the rows before) starts with
# this process's pages, and the kernel carries that high-water mark across exec, so every child
# would peak at no less than this process. VmHWM is the exec'd program's own.
PEAK = """import atexit, os, runpy, sys
def _peak():
    with open("/proc/self/status") as f:
        kib = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
    with open(os.environ["BENCH_PEAK_FILE"], "w") as out:
        out.write(kib)
atexit.register(_peak)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def batch(sb: SandboxProc, work: Path, name: str, repeat: int, concurrency: int) -> Ran:
    """A real batch run, with its own peak RSS (see PEAK) in ``peak_rss``."""
    cmd = [CLI, "batch", ORDER, "--repeat", str(repeat), "--concurrency", str(concurrency)]
    cmd += ["-q", "--ledger", str(work / f"ledger-{name}.jsonl")]
    peak = work / f"peak-{name}"
    env = {**sb.env(str(work / f"cache-{name}")), "BENCH_PEAK_FILE": str(peak)}
    ran = run([sys.executable, "-c", PEAK, *cmd], env)
    ran.peak_rss = int(peak.read_text())
    return ran


def on_a_terminal(cmd: list[str], env: dict) -> float:
    """Wall seconds of a command with a 100x30 pseudo-terminal as stdin, stdout and stderr (the
    live display draws), reading everything it writes."""
    import fcntl
    import pty
    import struct
    import termios

    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(cmd[0], cmd, {**env, "TERM": "xterm-256color"})
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    while True:
        try:
            if not os.read(fd, 65536):
                break
        except OSError:  # the child closed the terminal
            break
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} on a terminal exited {status}")
    return time.perf_counter() - start


def row_display(sb: SandboxProc, work: Path, orders: int, rounds: int) -> Row:
    """The live batch display's cost: the same batch on a terminal and piped, interleaved."""
    ratios, tty, piped = [], [], []
    for k in range(rounds):
        cmd = [CLI, "batch", ORDER, "--repeat", str(orders), "--concurrency", "8"]
        env = sb.env(str(work / f"cache-display-{k}"))
        t = on_a_terminal([*cmd, "--ledger", str(work / f"ledger-tty-{k}.jsonl")], env)
        p = run([*cmd, "--ledger", str(work / f"ledger-pipe-{k}.jsonl")], env).wall
        tty.append(t)
        piped.append(p)
        ratios.append(t / p)
    return Row(
        f"batch {orders} on a terminal (live display) vs piped",
        "<= 1.10x",
        lambda r: r <= 1.10,
        statistics.median(ratios),
        detail=f"terminal {statistics.median(tty):.2f} s, piped {statistics.median(piped):.2f} s "
        "(the display redraws 10 times a second, whatever the events)",
    )


def row_concurrency(work: Path, orders: int) -> Row:
    with SandboxProc("--latency", "0.05") as sb:
        batch(sb, work, "warm", 2, 2)
        slow = batch(sb, work, "c1", orders, 1)
        fast = batch(sb, work, "c32", orders, 32)
    return Row(
        f"batch {orders} @ 50 ms/step, concurrency 32 vs 1",
        ">= 24x",
        lambda r: r >= 24,
        slow.wall / fast.wall,
        detail=f"concurrency 1 {slow.wall:.1f} s, concurrency 32 {fast.wall:.2f} s "
        f"(whole processes; ideal 32x)",
    )


def rows_batch_cost(sb: SandboxProc, work: Path, small: int, large: int) -> list[Row]:
    a = batch(sb, work, "small", small, 8)
    b = batch(sb, work, "large", large, 8)
    per_order = (b.cpu - a.cpu) / (large - small)
    return [
        Row(
            "client CPU per order, latency 0",
            "<= 1.5 ms",
            lambda v: v <= 1.5,
            per_order * 1000,
            unit=" ms",
            detail=f"(CPU of {large} orders - CPU of {small}) / {large - small}: "
            f"{b.cpu:.1f} s, {a.cpu:.1f} s; concurrency 8",
        ),
        Row(
            f"batch peak RSS, {large:,} vs {small:,} orders",
            "<= 1.15x",
            lambda r: r <= 1.15,
            b.peak_rss / a.peak_rss,
            detail=f"{b.peak_rss / 1024:.1f} MiB vs {a.peak_rss / 1024:.1f} MiB",
        ),
    ]


def blast(sb: SandboxProc, orders: int, threads: int) -> float:
    """``orders`` JSON place-orders from ``threads`` keep-alive connections; seconds taken.
    The client is as cheap as it can be (one encrypted card per thread, sent again each time:
    the sandbox decrypts it each time) so that the figure is the server's."""
    import yaml
    from reference_client import card_payload

    from cart_cli.core.crypto import PublicKey, encrypt_card

    with open(ORDER) as f:
        order = yaml.safe_load(f)

    def call(conn, method, path, body=None, headers=None):
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise SystemExit(f"bench: {method} {path} -> {resp.status}: {data[:300]!r}")
        return resp, data

    conns, bodies = [], []
    for _ in range(threads):
        conn = http.client.HTTPConnection("127.0.0.1", sb.port, timeout=60)
        _, data = call(conn, "POST", "/api/v1/browser-session", b"", {"x-firmly-app-id": "b"})
        token = json.loads(data)["access_token"]
        resp, data = call(conn, "GET", "/api/v1/payment/key")
        key = PublicKey(resp.getheader("x-firmly-kid"), json.loads(data))
        body = {
            "encrypted_card": encrypt_card(card_payload(order["card"]), key),
            "shipping_info": order["shipping_info"],
            "items": order["items"],
        }
        headers = {"x-firmly-authorization": token, "content-type": "application/json"}
        conns.append(conn)
        bodies.append((json.dumps(body).encode(), headers))
    path = "/api/v1/payment/domains/staging.luma.gift/place-order"
    share = [orders // threads + (i < orders % threads) for i in range(threads)]

    def worker(i: int) -> None:
        body, headers = bodies[i]
        for _ in range(share[i]):
            call(conns[i], "POST", path, body, headers)

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    took = time.perf_counter() - start
    for conn in conns:
        conn.close()
    return took


def rows_sandbox(sb: SandboxProc, idle: int, before: int, orders: int, total: int) -> list[Row]:
    """The throughput row (``orders`` more orders at 16 threads) and the memory row (RSS once
    ``total`` orders have been placed, against ``idle``); ``before`` were placed already."""
    took = blast(sb, orders, 16)
    rest = total - before - orders
    if rest > 0:
        blast(sb, rest, 16)
    rss = sb.rss()
    return [
        Row(
            "sandbox JSON place-orders/s, 16 threads, one process",
            ">= 500",
            lambda v: v >= 500,
            orders / took,
            unit="/s",
            detail=f"{orders:,} orders in {took:.1f} s, client threads in the bench process",
        ),
        Row(
            f"sandbox RSS after {total:,} orders vs idle",
            "<= 1.5x",
            lambda r: r <= 1.5,
            rss / idle,
            detail=f"{rss / 1024:.1f} MiB vs {idle / 1024:.1f} MiB idle (after start and one "
            "warm-up order per thread); --keep-orders at its default",
        ),
    ]


# ---- main ----------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer runs, smaller loads")
    args = ap.parse_args()
    q = args.quick
    pairs = 3 if q else 9
    started = time.perf_counter()
    load_at_start = os.getloadavg()[0]
    rows: list[Row] = []

    def step(name: str) -> None:
        print(f"[{time.perf_counter() - started:5.0f} s] {name}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="cart-cli-bench-") as tmp:
        work = Path(tmp)
        step("startup")
        rows.append(row_version(5 if q else 15))
        rows.append(row_help(5 if q else 15))
        with SandboxProc() as sb:
            step("place")
            rows += rows_place(sb, work, pairs)
            rows.append(row_embedded(sb, work, pairs))
        rows.append(row_decrypt())
        step("batch reports")
        rows.append(row_junit_write())
        rows.append(row_junit_batch(50 if q else 100, 3 if q else 5))
        step("batch concurrency")
        rows.append(row_concurrency(work, 40 if q else 200))
        with SandboxProc() as sb:
            step("batch display")
            rows.append(row_display(sb, work, 100 if q else 300, 3 if q else 5))
        with SandboxProc() as sb:
            step("sandbox idle")
            blast(sb, 16, 16)  # one warm-up order per thread
            idle = sb.rss()
            small, large = (100, 1_000) if q else (1_000, 10_000)
            step("batch cost")
            cost = rows_batch_cost(sb, work, small, large)
            step("sandbox throughput and memory")
            total = 15_000 if q else 50_000
            throughput = 3_000 if q else 10_000
            placed = 16 + small + large
            rows += cost
            rows += rows_sandbox(sb, idle, placed, throughput, total)
    step("done")
    rows = first_the_issues(rows)
    print(f"\ncart-cli benchmark, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    for title, part in sections(rows):
        print(f"\n{title}\n{'figure':<62} {'value':>9}  {'target':<8} verdict")
        for r in part:
            value = "-" if r.ok is None else f"{r.value:.2f}{r.unit}"
            print(f"{r.figure:<62} {value:>9}  {r.target:<8} {r.verdict}")
            if r.detail:
                print(f"{'':<4}{r.detail}")
    missed = [r for r in rows if r.verdict == "MISSED"]
    print(f"\n{len(rows) - len(missed)} of {len(rows)} met or skipped; {len(missed)} missed.")
    if not q:  # the figures of record: bench/results.md, linked from bench/README.md
        elapsed = time.perf_counter() - started
        load = (load_at_start, os.getloadavg()[0])
        RESULTS.write_text(results_markdown(rows, elapsed, load), encoding="utf-8")
        print(f"written: {RESULTS}")
    return 1 if missed else 0


RESULTS = Path(__file__).resolve().parent / "results.md"
# The figures of issue 19 ("a lighter start"), in its order: printed first, as their own table.
ISSUE = (
    "`place` piped vs the reference client",
    "`place --json` vs the reference client",
    "`place --help` vs httpie's `http --help`",
    "batch peak RSS, ",
    "batch 200 @ 50 ms/step, concurrency 32 vs 1",
    "client CPU per order, latency 0",
)


def _issue_rank(row: Row) -> int:
    return next((i for i, f in enumerate(ISSUE) if row.figure.startswith(f)), len(ISSUE))


def first_the_issues(rows: list[Row]) -> list[Row]:
    return sorted(rows, key=_issue_rank)  # stable: the others keep their order


def sections(rows: list[Row]) -> list[tuple[str, list[Row]]]:
    issue = [r for r in rows if _issue_rank(r) < len(ISSUE)]
    rest = [r for r in rows if _issue_rank(r) == len(ISSUE)]
    return [
        (t, p) for t, p in (("Issue 19 (start-up and batch)", issue), ("Other figures", rest)) if p
    ]


def results_markdown(rows: list[Row], elapsed: float, load: tuple[float, ...] = ()) -> str:
    """The run as a Markdown page: what `make bench` measured, when and where (and how busy
    the machine was: the ratios hold up under load, the absolute rows less so)."""
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    busy = (
        f" Load average (1 min) at the start {load[0]:.1f}, at the end {load[1]:.1f}."
        if load
        else ""
    )
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (bench/bench.py) on {when}: {os.cpu_count()} cores, "
        f"Python {sys.version.split()[0]}, the whole run {int(elapsed // 60)} min "
        f"{elapsed % 60:.0f} s. Each figure is a ratio unless a unit is given; how each is "
        "measured is in [README.md](README.md). Run `make bench` again to replace this page."
        + busy,
    ]
    for title, part in sections(rows):
        lines += ["", f"## {title}", "", "| figure | target | measured | |", "|---|---|---|---|"]
        for r in part:
            value = "-" if r.ok is None else f"{r.value:.2f}{r.unit}"
            lines.append(f"| {r.figure} | {r.target} | {value} | {r.verdict} |")
    notes = [f"- {r.figure}: {r.detail}" for r in rows if r.detail]
    if notes:
        lines += ["", "## How each was measured in this run", "", *notes]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
