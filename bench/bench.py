"""Benchmarks: compare ratios measured in one run (the machine is shared and noisy).

    make bench        # or: .venv/bin/python bench/bench.py

1. Startup: `cart-cli --version` and `--help` against a bare `python -c pass`. --help also pays
   for typer's rich help renderer (markdown-it, ~90 ms); neither may import requests, jose,
   cryptography, pydantic, starlette or uvicorn.
2. Card decryption in the sandbox: a key parsed once against parsing the PEM per request.
3. Batch throughput against the embedded sandbox: concurrency 8 against concurrency 1.
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
        jobs = batch.plan(batch.collect([str(f)]), repeat=n)
        results = []
        for concurrency in (1, 8):
            with Sandbox(latency=0.01) as sb:
                client = Client(Endpoints(sb.url, sb.url, "bench"), pool_size=concurrency)
                t = time.perf_counter()
                summary = batch.run(client, jobs, concurrency=concurrency)
                results.append(time.perf_counter() - t)
                assert summary.count("placed") == n, summary.to_json()
    return n / results[1], n / results[0]


# Targets, as ratios measured in the same run (absolute times vary with the shared machine).
TARGETS = {
    "startup": ("cart-cli --version within 5x a bare python", lambda r: r < 5),
    "decrypt": ("a loaded key at least 20x faster than parsing the PEM", lambda r: r >= 20),
    "throughput": ("concurrency 8 at least 3x concurrency 1", lambda r: r >= 3),
}


def main() -> None:
    version, helped, bare = startup()
    parsed, loaded = decrypt()
    fast, slow = throughput()
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
