"""The pictures in docs/ (output.md, batch.md), drawn by cart-cli's own renderers from real
runs against the sandbox:

    make screenshots     # or: .venv/bin/python scripts/screenshots.py [--show]

docs/img/place-live.svg   the live `place` display in the middle of an order
docs/img/receipt.svg      the receipt of that order
docs/img/batch.svg        a batch run: finished orders above, the overall bar and orders in flight
docs/img/report-html.png  a batch's --report-html, opened in headless Chromium (skipped, with a
                          message, when /usr/bin/chromium is missing: apt-get install chromium)
"""

from __future__ import annotations

import io
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "img"
WIDTH = 88

BATCH = """\
defaults:
  merchant: staging.luma.gift
  card: test:visa
  shipping_info: {first_name: Ada, last_name: Lovelace, email: ada@example.com,
                  phone: "2065551212", address1: 1 Main St, city: Seattle,
                  state_or_province: WA, country: US, postal_code: "98101"}
orders:
  - items: [{variant_id: WS12-XS-Orange, quantity: 1}]
  - items: [{variant_id: MH07-XS-Gray, quantity: 1}, {variant_id: 24-WG085, quantity: 2}]
  - items: [{variant_id: WJ06-S-Blue, quantity: 1}]
  - items: [{variant_id: MP05-32-Black, quantity: 1}]
  - items: [{variant_id: 24-MB01, quantity: 1}, {variant_id: WS12-XS-Orange, quantity: 1},
            {variant_id: MH07-XS-Gray, quantity: 1}]
"""


def recording():
    from rich.console import Console

    return Console(
        record=True, file=io.StringIO(), width=WIDTH, force_terminal=True, color_system="truecolor"
    )


def save(console, name: str, title: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    if "--show" in sys.argv:  # the same picture, as text on stdout
        print(console.export_text(clear=False))
    (OUT / name).write_text(console.export_svg(title=title), encoding="utf-8")
    print(f"wrote {(OUT / name).relative_to(ROOT)}")


def inputs():
    """What an order file may read (${VARS}, today): this process's."""
    import datetime

    from cart_cli.core.order import Inputs

    return Inputs(os.environ, datetime.date.today())


def wait_for(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("screenshots: the run did not get there in time")
        time.sleep(0.01)


def place(sandbox) -> None:
    from cart_cli.cli.ui.live import LiveDisplay
    from cart_cli.cli.ui.progress import target_text
    from cart_cli.cli.ui.receipt import receipt
    from cart_cli.core.checkout import place_order
    from cart_cli.core.client import Client, Endpoints
    from cart_cli.core.order import load_order

    order = load_order(ROOT / "sample_orders" / "three-items.yaml", inputs=inputs())
    client = Client(Endpoints(sandbox.url, sandbox.url, "sandbox"))
    where = target_text(sandbox.url, sandbox=True)
    display = LiveDisplay(
        order.merchant, recording(), start=False, items=len(order.items), target=where
    )
    placed = {}

    def run() -> None:
        placed["it"] = place_order(order, client, on_event=display)

    worker = threading.Thread(target=run)
    worker.start()
    wait_for(lambda: display.tracker.completed >= 6)  # the cart is there, an item is in
    time.sleep(0.25)  # let the spinner and the clocks move on a little
    shot = recording()
    shot.print("$ cart-cli place sample_orders/three-items.yaml --sandbox", style="bold")
    shot.print(display.render())
    save(shot, "place-live.svg", "cart-cli place (mid-order)")
    worker.join()
    client.close()

    shot = recording()
    shot.print(display.summary())
    it = placed["it"]
    shot.print(receipt(it.order, order.merchant, target=where, request_id=it.request_id))
    save(shot, "receipt.svg", "cart-cli place (the receipt)")


def batch(sandbox, folder: Path) -> None:
    from rich.text import Text

    from cart_cli.cli.ui.batch import MARK, STYLE, LiveBatch
    from cart_cli.core import batch as core
    from cart_cli.core.client import Client, Endpoints

    f = folder / "orders.yaml"
    f.write_text(BATCH)
    jobs = core.plan(core.collect([f.name], inputs()), repeat=4)
    client = Client(Endpoints(sandbox.url, sandbox.url, "sandbox"), pool_size=4)
    console = recording()
    console.height = 16
    width = max(len(job.name) for job in jobs)
    live = LiveBatch(console, len(jobs), name_width=width, start=False)
    worker = threading.Thread(
        target=lambda: core.run(client, jobs, concurrency=4, listeners=[live])
    )
    worker.start()
    wait_for(lambda: live.counts["not placed"] >= 2)
    shot = recording()
    shot.print(f"$ cart-cli batch {f.name} --repeat 4 --sandbox", style="bold")
    with live.lock:
        for group, text in live.pending:
            shot.print(Text.assemble((MARK[group] + " ", STYLE[group]), text))
        frame = live.render()
    shot.print(frame)
    save(shot, "batch.svg", "cart-cli batch")
    worker.join()
    client.close()


REPORT_SUITE = """\
defaults:
  merchant: staging.luma.gift
  card: test:visa
  shipping_info: {first_name: Ada, last_name: Lovelace, email: ada@example.com,
                  phone: "2065551212", address1: 1 Main St, city: Seattle,
                  state_or_province: WA, country: US, postal_code: "98101"}
orders:
  - items: [{variant_id: WS12-XS-Orange, quantity: 1}]
  - items: [{variant_id: MH07-XS-Gray, quantity: 1}, {variant_id: 24-WG085, quantity: 2}]
  - items: [{variant_id: WJ06-S-Blue, quantity: 1}]
  - items: [{variant_id: 24-MB01, quantity: 1}]
    card: test:declined
    expect: {outcome: declined}
  - items: [{variant_id: MP05-32-Black, quantity: 1}]
    card: test:declined
  - items: [{variant_id: NO-SUCH-SKU, quantity: 1}]
    expect: {outcome: placed}
"""


def report_html(sandbox, folder: Path) -> None:
    """A sandbox batch's --report-html, in headless Chromium, the first failed order open."""
    import subprocess

    from tests import chromium

    if not chromium.available():
        print(f"skipped report-html.png: no {chromium.CHROMIUM} (apt-get install chromium)")
        return
    (folder / "smoke.yaml").write_text(REPORT_SUITE)
    cli = Path(sys.executable).with_name("cart-cli")
    where = ["--api-url", sandbox.url, "--payment-url", sandbox.url, "--app-id", "docs"]
    run = ["batch", "smoke.yaml", "--repeat", "5", "--concurrency", "6", "--quiet"]
    subprocess.run(
        [cli, *run, "--report-html", "report.html", *where],
        cwd=folder,
        check=False,
        timeout=120,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with chromium.Browser() as b:
        b.open((folder / "report.html").as_uri(), width=1100, height=1900)
        # The orders not placed, the first one's waterfall open under it.
        b.evaluate(
            "var s=document.getElementById('f-outcome');s.value='not_placed';"
            "s.dispatchEvent(new Event('change'))"
        )
        problems = b.problems()
        if problems or b.requests() != [(folder / "report.html").as_uri()]:
            raise SystemExit(f"the report made requests or errors: {problems}")
        OUT.mkdir(parents=True, exist_ok=True)
        b.screenshot(OUT / "report-html.png")
    print(f"wrote {(OUT / 'report-html.png').relative_to(ROOT)}")


def main() -> None:
    import tempfile

    from cart_cli.sandbox import Sandbox

    with Sandbox(latency=0.3) as sandbox:
        place(sandbox)
    with Sandbox(latency=0.15) as sandbox, tempfile.TemporaryDirectory() as d:
        os.chdir(d)  # job names as a user would see them: orders.yaml#1@2
        batch(sandbox, Path(d))
    with Sandbox(latency=0.05) as sandbox, tempfile.TemporaryDirectory() as d:
        report_html(sandbox, Path(d))


if __name__ == "__main__":
    main()
