"""--report-html (batch, place): one self-contained HTML file, escaped, with the totals, the
timeline, the stage waterfalls and a table of orders; opened in headless Chromium when there is
one (no console errors, no network requests)."""

from __future__ import annotations

import html.parser
import json
import os
import re
import stat

import pytest
import yaml

from tests import chromium
from tests.helpers import ADDRESS, cli, sandbox_orders, target

SKUS = ["WS12-XS-Orange", "MH07-XS-Gray", "WJ06-S-Blue", "24-MB01", "24-WG085"]  # stock: 100
# A file name that is markup (no "/" in a file name): every order in it is named after it.
HOSTILE = "<script>alert(1)&'\"<b>x"


def suite(tmp_path, name: str = HOSTILE, repeat_placed: int = 1):
    doc = {
        "defaults": {
            "merchant": "staging.luma.gift",
            "shipping_info": ADDRESS,
            "card": "test:visa",
        },
        "orders": [
            *[
                {"items": [{"variant_id": SKUS[i % 5], "quantity": 1}]}
                for i in range(repeat_placed)
            ],
            {
                "items": [{"variant_id": "MH07-XS-Gray", "quantity": 1}],
                "card": "test:declined",
                "expect": {"outcome": "declined"},
            },
            {
                "items": [{"variant_id": "MH07-XS-Gray", "quantity": 1}],
                "card": "test:declined",
                "expect": {"outcome": "placed"},
            },
            {"items": [{"variant_id": "NO-SUCH-SKU", "quantity": 1}]},
        ],
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path.name  # relative: the tests run in tmp_path


class Outline(html.parser.HTMLParser):
    """What a browser would build, roughly: ids, tags, and the text of elements by id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: dict[str, str] = {}
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self._open: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if a.get("id"):
            self.ids[a["id"]] = tag

    def handle_data(self, data):
        self.text.append(data)


def data_rows(doc: str) -> list[dict]:
    m = re.search(r'<script type="application/json" id=data>(.*?)</script>', doc, re.S)
    assert m, "no order data in the report"
    return json.loads(m.group(1))


def test_a_batch_report_is_self_contained_escaped_and_complete(cart_sandbox, tmp_path):
    os.chdir(tmp_path)
    f = suite(tmp_path)
    r = cli(["batch", f, "--report-html", "r.html", "--json", *target(cart_sandbox)])
    assert r.code == 10, r.stderr  # one expectation not met
    summary = r.json()
    report = tmp_path / "r.html"
    assert stat.S_IMODE(report.stat().st_mode) == 0o600  # it holds addresses and order numbers
    doc = report.read_text("utf-8")
    assert doc.startswith("<!doctype html>") and doc.rstrip().endswith("</html>")

    # Self-contained: nothing loaded from anywhere, and a policy that forbids it anyway.
    assert "default-src &#x27;none&#x27;" in doc
    for outside in ("src=", "href=", "url(", "@import", "<link", "<iframe", "<img", "<object"):
        assert outside not in doc, outside
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", doc))
    assert urls <= {"http://www.w3.org/2000/svg", cart_sandbox.url}, urls

    # Escaped: the only scripts are the report's own three; the name shows as text.
    assert re.findall(r"<script\b[^>]*>", doc) == [
        '<script type="application/json" id=data>',
        '<script type="application/json" id=colours>',
        "<script>",
    ]
    assert HOSTILE not in doc and "<b>x" not in doc
    assert "&lt;script&gt;alert(1)&amp;&#x27;&quot;&lt;b&gt;x.yaml#0" in doc  # a timeline title

    # Structure: the target, the totals, the stages, the timeline, the orders.
    outline = Outline()
    outline.feed(doc)
    for section in ("target", "totals", "stages", "timeline", "orders", "order-table", "data"):
        assert section in outline.ids, section
    text = " ".join(" ".join(outline.text).split())
    assert "1 placed 3 not placed 0 unknown 1 expectations met 1 expectations not met" in text
    assert f"api url {cart_sandbox.url}" in text
    assert "staging.luma.gift 4 1 3 0 1 1" in text  # the merchant's row
    assert sum(1 for tag, _ in outline.tags if tag == "svg") == 2  # stages, timeline

    # The orders, as the table draws them: the same as --json says, with their stages.
    rows = data_rows(doc)
    by_job = {o["name"]: o for o in summary["orders"]}
    assert [row["n"] for row in rows] == [o["name"] for o in summary["orders"]]
    assert rows[0]["n"] == f"{HOSTILE}.yaml#0"
    for row in rows:
        o = by_job[row["n"]]
        assert row["o"] == o["outcome"] and row["r"] == o["request_id"]
        stages = [s[0] for s in row["w"]]
        assert stages[:4] == ["session", "key", "encrypt", "submit"], stages
        starts = [s[1] for s in row["w"]]
        assert starts == sorted(starts) and all(s[2] >= 0 for s in row["w"])
    placed, met, unmet, missing = rows
    assert placed["p"] == by_job[placed["n"]]["order"]["platform_order_number"]
    assert placed["w"][-1][0] == "order-placed" and "e" not in placed
    assert met["x"] == "met" and met["e"] == "ErrorPaymentDeclined" and met["h"]
    assert unmet["x"] == "not met" and "expected placed" in unmet["xd"]
    assert missing["e"] == "ErrorProductNotFound"


def test_report_html_where_it_cannot_be_written_is_refused_before_sending(cart_sandbox, tmp_path):
    os.chdir(tmp_path)
    f = suite(tmp_path, "smoke")
    r = cli(["batch", f, "--report-html", tmp_path / "no" / "r.html", *target(cart_sandbox)])
    assert r.code == 2 and "--report-html" in r.stderr and "no such folder" in r.stderr
    assert sandbox_orders(cart_sandbox) == []
    r = cli(["batch", f, "--report-html", "-", "--jsonl", "-", *target(cart_sandbox)])
    assert r.code == 2 and "both write to standard output" in r.stderr


def test_report_html_on_stdout_moves_the_summary_to_stderr(cart_sandbox, tmp_path):
    os.chdir(tmp_path)
    f = suite(tmp_path, "smoke")
    r = cli(["batch", f, "--report-html", "-", *target(cart_sandbox)])
    assert r.code == 10
    assert r.stdout.startswith("<!doctype html>") and r.stdout.rstrip().endswith("</html>")
    assert "Batch summary" in r.stderr and len(data_rows(r.stdout)) == 4


def test_place_report_html_of_a_declined_order(cart_sandbox, tmp_path):
    os.chdir(tmp_path)
    f = tmp_path / "declined.yaml"
    f.write_text(
        yaml.safe_dump(
            {
                "merchant": "staging.luma.gift",
                "items": [{"variant_id": "WS12-XS-Orange", "quantity": 1}],
                "shipping_info": ADDRESS,
                "card": "test:declined",
            }
        )
    )
    r = cli(["place", f, "--report-html", "-", *target(cart_sandbox)])
    assert r.code == 3 and "ErrorPaymentDeclined" in r.stderr
    (row,) = data_rows(r.stdout)
    assert row["o"] == "not_placed" and row["e"] == "ErrorPaymentDeclined" and row["r"]
    assert [s[0] for s in row["w"]][:4] == ["session", "key", "encrypt", "submit"]
    assert "cart-cli place: 1 order" in r.stdout
    r = cli(["place", f, "--report-html", "r.html", "--dry-run", *target(cart_sandbox)])
    assert r.code == 2 and "--dry-run sends none" in r.stderr and not os.path.exists("r.html")


@pytest.mark.slow
@pytest.mark.skipif(not chromium.available(), reason="no /usr/bin/chromium")
@pytest.mark.timeout(180)
def test_a_200_order_report_opens_in_chromium_without_errors_or_requests(cart_sandbox, tmp_path):
    os.chdir(tmp_path)
    f = suite(tmp_path, repeat_placed=47)  # 50 orders a round
    r = cli(
        [
            "batch",
            f,
            "--repeat",
            "4",
            "--concurrency",
            "8",
            "--report-html",
            "r.html",
            *target(cart_sandbox),
        ]
    )
    assert r.code == 10, r.stderr
    url = (tmp_path / "r.html").as_uri()
    with chromium.Browser() as b:
        b.open(url)
        assert b.evaluate("document.body.dataset.ready") == "1"
        assert b.problems() == []
        assert b.requests() == [url]
        assert b.evaluate("document.querySelectorAll('#rows tr.row').length") == 200
        first = b.evaluate("document.querySelector('#rows tr.row td').textContent")
        assert first == f"{HOSTILE}.yaml#0"
        assert b.evaluate("document.querySelectorAll('script').length") == 3
        assert b.evaluate("document.querySelector('#totals .card.placed b').textContent") == "188"
        # One order's waterfall is open; opening another draws its own.
        assert b.evaluate("document.querySelectorAll('#rows tr.detail svg rect').length") >= 4
        b.evaluate("document.querySelector('#rows tr.row').click()")
        assert b.evaluate("document.querySelectorAll('#rows tr.detail').length") == 2
        # Filter by outcome, then sort by duration (longest first).
        b.evaluate(
            "var s=document.getElementById('f-outcome');s.value='not_placed';"
            "s.dispatchEvent(new Event('change'))"
        )
        assert b.evaluate("document.querySelectorAll('#rows tr.row').length") == 12
        b.evaluate("var h=document.querySelector('th[data-key=d]');h.click();h.click()")
        ms = b.evaluate(
            "[].map.call(document.querySelectorAll('#rows tr.row td.num'),"
            "function(td){return +td.textContent})"
        )
        assert ms == sorted(ms, reverse=True) and len(ms) == 12
        assert b.problems() == [] and b.requests() == [url]
