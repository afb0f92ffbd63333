"""JUnit reports from real smoke suites are valid against Jenkins xunit's junit-10.xsd (a copy,
with its source and licence, in tests/data/), whatever became of the orders; and the hints in
them can be pasted as they are."""

from __future__ import annotations

import json
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import ADDRESS, ROOT, cli, sandbox_orders, target

XSD = Path(__file__).parent / "data" / "junit-10.xsd"


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(XSD)


def suite(path: Path, orders: list[dict]) -> Path:
    doc = {
        "defaults": {
            "merchant": "staging.luma.gift",
            "shipping_info": ADDRESS,
            "card": "test:visa",
        },
        "orders": orders,
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def assert_valid(schema: xmlschema.XMLSchema, report: Path) -> ET.Element:
    errors = [str(e) for e in schema.iter_errors(str(report))]
    assert errors == [], report.read_text()
    return ET.parse(report).getroot()


def test_the_schema_copy_is_the_one_that_refuses_what_the_old_report_had(schema):
    """A test that can fail: properties inside a testcase and skipped on testsuites are what
    junit-10.xsd refuses (and what cart-cli wrote before)."""
    old = (
        '<testsuites name="x" tests="1" failures="0" errors="0" skipped="0">'
        '<testsuite name="s" tests="1" failures="0" errors="0">'
        '<testcase name="c"><properties><property name="a" value="b"/></properties></testcase>'
        "</testsuite></testsuites>"
    )
    assert len(list(schema.iter_errors(old))) == 2


def test_the_ci_smoke_suite_report_is_valid(schema, cart_sandbox, tmp_path):
    report = tmp_path / "junit.xml"
    smoke = ROOT / "docs" / "ci" / "smoke"
    args = ["batch", smoke, *target(cart_sandbox), "--junit", report, "--ledger", tmp_path / "l"]
    r = cli(args)
    assert r.code == 0, r.stderr
    root = assert_valid(schema, report)
    count = len(yaml.safe_load((smoke / "checkout.yaml").read_text())["orders"])
    assert root.get("tests") == str(count) and root.get("failures") == "0"
    assert "skipped" not in root.attrib
    case = next(c for c in root.iter("testcase") if c.get("name").endswith("#0"))
    assert case.find("properties") is None
    details = dict(line.split(": ", 1) for line in case.find("system-out").text.splitlines())
    assert details["outcome"] == "placed" and details["order_number"].isdigit()
    assert details["expect.total"] == "29.26" and "stage_ms.order-placed" in details
    (suite_el,) = root.findall("testsuite")
    names = {p.get("name") for p in suite_el.find("properties")}
    assert "target.api_url" in names  # where the orders went stays a suite property


def test_failures_errors_skips_and_unknowns_are_valid_and_their_hint_names_the_ledger(
    schema, cart_sandbox, tmp_path
):
    f = suite(
        tmp_path / "mixed.yaml",
        [
            {"items": [{"variant_id": "WS12-XS-Orange", "quantity": 1}]},
            {
                "items": [{"variant_id": "WS12-XS-Orange", "quantity": 2}],
                "expect": {"outcome": "placed", "total": "1.00"},  # not met: a failure
            },
            {"items": [{"variant_id": "24-MB01", "quantity": 1}], "card": "test:declined"},
            {
                "merchant": "down.luma.gift",
                "items": [{"variant_id": "WS12-XS-Orange", "quantity": 1}],
            },  # an error
        ],
    )
    ledger = tmp_path / "my ledgers" / "run.jsonl"  # a path with a space: quoted in the hint
    ledger.parent.mkdir()
    first = tmp_path / "first.xml"
    r = cli(["batch", f, *target(cart_sandbox), "--ledger", ledger, "--junit", first])
    assert r.code == 5, r.stderr  # some placed, some not
    root = assert_valid(schema, first)
    assert (root.get("failures"), root.get("errors")) == ("2", "1")

    # the first order sent but never answered (a crash), then --resume: the other placed one is
    # skipped, the first is unknown, the two not placed are sent again
    lines = [json.loads(x) for x in ledger.read_text().splitlines()]
    lines = [x for x in lines if not (x.get("event") == "result" and x["source"]["index"] == 0)]
    ledger.write_text("".join(json.dumps(x) + "\n" for x in lines))
    second = tmp_path / "second.xml"
    r = cli(["batch", f, *target(cart_sandbox), "--ledger", ledger, "--junit", second, "--resume"])
    assert r.code == 8, r.stderr
    root = assert_valid(schema, second)
    (error,) = [e for e in root.iter("error") if e.get("type") == "OutcomeUnknown"]
    hint = error.get("message").split("`")[1]
    words = shlex.split(hint)
    assert words[:3] == ["cart-cli", "ledger", "resolve"]
    assert words[words.index("--ledger") + 1] == str(ledger)
    # and the batch's own hint on stderr, pasted into a shell, names the same ledger
    line = next(x for x in r.stderr.splitlines() if "ledger resolve JOB" in x)
    words = shlex.split(line)
    assert words[words.index("--ledger") + 1] == str(ledger)
    assert len(root.findall(".//skipped")) == 1
    assert len(sandbox_orders(cart_sandbox)) == 2  # no placed order sent again


def test_a_server_message_with_control_characters_still_makes_valid_xml(
    schema, http_server, tmp_path
):
    """XML 1.0 has no place for most C0 controls, even as &#27;: the server's words in the
    report show them as escapes, as the terminal does."""
    from http.server import BaseHTTPRequestHandler

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.dumps(
                {"code": 503, "error": "ErrorStoreUnavailable", "description": "down\x1b[2J\x00!"}
            ).encode()
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    url = http_server(Handler)
    report = tmp_path / "junit.xml"
    orders = suite(tmp_path / "s.yaml", [{"items": [{"variant_id": "24-MB01", "quantity": 1}]}])
    args = ["--api-url", url, "--payment-url", url, "--app-id", "t", "--junit", report]
    r = cli(["batch", orders, *args, "--ledger", tmp_path / "l"])
    assert r.code != 0 and report.is_file(), r.stderr
    root = assert_valid(schema, report)
    (failed,) = [e for e in root.iter() if e.tag in ("failure", "error")]
    assert "down\\x1b[2J\\x00!" in failed.get("message") + failed.text, report.read_text()


@given(st.text())
def test_any_text_made_xml_text_reads_back_as_xml(text):
    from cart_cli.wire.text import xml_text

    el = ET.Element("case", message=xml_text(text))
    el.text = xml_text(text)
    back = ET.fromstring(ET.tostring(el, encoding="utf-8"))
    shown = xml_text(text).replace("\r\n", "\n").replace("\r", "\n")  # XML reads \r as \n
    assert (back.text or "") == shown and back.get("message") == xml_text(text)
