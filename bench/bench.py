"""Benchmarks: compare ratios measured in one run (the machine is shared and noisy).

    make bench        # or: .venv/bin/python bench/bench.py

1. Startup: `cart-cli --version` and `--help` against a bare `python -c pass`. --help also pays
   for typer's rich help renderer (markdown-it, ~90 ms); neither may import requests, jose,
   cryptography, pydantic, starlette or uvicorn.
2. Card decryption in the sandbox: a key parsed once against parsing the PEM per request.
3. Batch throughput against the embedded sandbox: concurrency 8 against concurrency 1.
4. JUnit report: 2,000 orders' report written in one pass, against a one-second budget.
5. Batch wall time with --junit against without (the report is written once, at the end).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def best_of(fn, n: int) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def startup() -> tuple[float, float, float]:
    cli = str(Path(sys.executable).with_name("cart-cli"))

    def run(*args):
        return best_of(lambda: subprocess.run([*args], check=True, capture_output=True), 7)

    return run(cli, "--version"), run(cli, "--help"), run(sys.executable, "-c", "pass")


def decrypt() -> tuple[float, float]:
    from cryptography.hazmat.primitives import serialization
    from jose import jwe

    from cart_cli.core.crypto import PublicKey, encrypt_card
    from cart_cli.sandbox.state import KeyRing

    ring = KeyRing()
    token = encrypt_card(
        {
            "number": "4111111111111111",
            "name": "A",
            "verification_value": "1",
            "month": "01",
            "year": "2030",
        },
        PublicKey(ring.kid, ring.jwk),
    )
    pem = ring.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    loaded = best_of(lambda: jwe.decrypt(token, ring.private_key), 50)

    def per_request():
        key = serialization.load_pem_private_key(pem, password=None)
        jwe.decrypt(token, key)

    parsed = best_of(per_request, 10)
    return parsed, loaded


ADDRESS = {
    "first_name": "A",
    "last_name": "B",
    "email": "a@b.co",
    "phone": "1",
    "address1": "x",
    "city": "y",
    "state_or_province": "WA",
    "country": "US",
    "postal_code": "1",
}


def orders_file(folder: str, skus: list[str]) -> Path:
    """A multi-order file: one order of each sku."""
    import yaml

    f = Path(folder) / "o.yaml"
    defaults = {"merchant": "staging.luma.gift", "shipping_info": ADDRESS, "card": "test:visa"}
    orders = [{"items": [{"variant_id": s, "quantity": 1}]} for s in skus]
    f.write_text(yaml.safe_dump({"defaults": defaults, "orders": orders}))
    return f


def _inputs():
    """What orders are read with here: this process's environment and today."""
    import os
    from datetime import date

    from cart_cli.core.order import Inputs

    return Inputs(os.environ, date.today())


def throughput(n: int = 40) -> tuple[float, float]:
    import yaml

    from cart_cli.core import batch
    from cart_cli.core.client import Client, Endpoints
    from cart_cli.sandbox import Sandbox

    address = {
        "first_name": "A",
        "last_name": "B",
        "email": "a@b.co",
        "phone": "1",
        "address1": "x",
        "city": "y",
        "state_or_province": "WA",
        "country": "US",
        "postal_code": "1",
    }
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "o.yaml"
        f.write_text(
            yaml.safe_dump(
                {
                    "defaults": {
                        "merchant": "staging.luma.gift",
                        "shipping_info": address,
                        "card": "test:visa",
                    },
                    "orders": [{"items": [{"variant_id": "24-MB01", "quantity": 1}]}],
                }
            )
        )
        jobs = batch.plan(batch.collect([str(f)], _inputs()), repeat=n)
        results = []
        for concurrency in (1, 8):
            with Sandbox(latency=0.01) as sb:
                client = Client(Endpoints(sb.url, sb.url, "bench"), pool_size=concurrency)
                t = time.perf_counter()
                summary = batch.run(client, jobs, concurrency=concurrency)
                results.append(time.perf_counter() - t)
                assert summary.count("placed") == n, summary.to_json()
    return n / results[1], n / results[0]


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


def junit_write(n: int = 2000) -> float:
    from cart_cli.core.reports import write_junit

    summary = _synthetic_summary(n)
    with tempfile.TemporaryDirectory() as d:
        return best_of(lambda: write_junit(Path(d) / "junit.xml", summary), 3)


def junit_batch(n: int = 100, rounds: int = 5) -> tuple[float, float]:
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
    return min(times[True]), min(times[False])


# Targets, as ratios measured in the same run (absolute times vary with the shared machine).
TARGETS = {
    "startup": ("cart-cli --version within 5x a bare python", lambda r: r < 5),
    "decrypt": ("a loaded key at least 20x faster than parsing the PEM", lambda r: r >= 20),
    "throughput": ("concurrency 8 at least 3x concurrency 1", lambda r: r >= 3),
    "junit": ("2,000 orders' JUnit written within 1 s (x = share of that second)", lambda r: r < 1),
    "junit-batch": ("a batch with --junit within 1.1x the same batch without", lambda r: r <= 1.1),
}


def main() -> None:
    version, helped, bare = startup()
    parsed, loaded = decrypt()
    fast, slow = throughput()
    junit_seconds = junit_write()
    with_junit, without_junit = junit_batch()
    rows = [
        (
            "startup",
            version / bare,
            f"--version {version * 1000:.0f} ms, --help {helped * 1000:.0f} ms, "
            f"bare python {bare * 1000:.0f} ms",
        ),
        (
            "decrypt",
            parsed / loaded,
            f"PEM parsed per request {parsed * 1000:.1f} ms, "
            f"key loaded once {loaded * 1000:.2f} ms",
        ),
        (
            "throughput",
            fast / slow,
            f"concurrency 8 {fast:.1f} orders/s, concurrency 1 {slow:.1f} orders/s",
        ),
        ("junit", junit_seconds, f"2,000 testcases in {junit_seconds * 1000:.0f} ms"),
        (
            "junit-batch",
            with_junit / without_junit,
            f"100 orders at concurrency 8: with --junit {with_junit:.2f} s, "
            f"without {without_junit:.2f} s",
        ),
    ]
    missed = 0
    for name, ratio, detail in rows:
        what, ok = TARGETS[name]
        missed += not ok(ratio)
        print(
            f"{name:<11} {ratio:6.1f}x  {'met   ' if ok(ratio) else 'MISSED'}  {what}\n"
            f"{'':<19} {detail}"
        )
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
