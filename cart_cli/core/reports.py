"""Batch reports, JSON Lines and JUnit XML: written once, at the end of a batch (an interrupted
one too), in one pass, as core.outputs writes a path (a regular file atomically, mode 0600:
they hold addresses; a link followed, a device or FIFO in place, - to standard output).
No card data enters them."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from cart_cli.core import outputs
from cart_cli.core.errors import Exit
from cart_cli.core.runner import (
    FAILED,
    INTERRUPTED,
    NOT_RUN,
    SKIPPED,
    UNRESOLVED,
    JobOutcome,
    Listener,
    Summary,
)
from cart_cli.wire.money import currency_of, to_cents
from cart_cli.wire.text import xml_text

MODE = outputs.MODE
# Business outcomes are test failures; infrastructure trouble is a test error.
FAILURE_CODES = {Exit.USAGE, Exit.DECLINED, Exit.PRODUCT, Exit.CAPTCHA}


class Spool(Listener):
    """Keeps batch memory flat: each finished order's full result (the whole order answer, some
    14 KiB) goes to an unnamed temporary file (mode 0600, gone when closed or at exit) as the
    order finishes, and the outcome keeps only what the summary and JUnit need. The JSON reports
    read the full results back, in input order, when they are written.

    A listener: called from worker threads, after the display has seen the order."""

    KEEP = ("platform_order_number", "cart_id", "total")  # what the summary shows

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 - lives until close()
        self.lock = threading.Lock()

    def finished(self, outcome: JobOutcome) -> None:
        r = outcome.result
        if r is None or not r.order:
            return  # small already: serialized from memory at the end
        line = _json_line(outcome)
        with self.lock:
            at = self.file.seek(0, os.SEEK_END)
            self.file.write(line)
            outcome.spooled = (at, len(line))
        r.order = kept = {k: r.order[k] for k in self.KEEP if k in r.order}
        total = kept.get("total")
        cents = to_cents(total)
        if cents is not None:  # the amount, not the four members the answer wrote it with
            kept["total"] = {"currency": sys.intern(currency_of(total)), "number": cents}

    def json_line(self, outcome: JobOutcome) -> bytes:
        """The outcome's full result as one JSON line (no newline)."""
        if outcome.spooled is None:
            return _json_line(outcome)
        at, size = outcome.spooled
        with self.lock:
            self.file.seek(at)
            return self.file.read(size)

    def close(self) -> None:
        self.file.close()


def _json_line(outcome: JobOutcome) -> bytes:
    return json.dumps(outcome.to_json(), default=str, separators=(",", ":")).encode()


def json_lines(summary: Summary, spool: Spool | None = None) -> Iterator[bytes]:
    """Each order's full result, one JSON line each, in input order."""
    for o in summary.outcomes:
        yield spool.json_line(o) if spool else _json_line(o)


def _output(path: str | Path | outputs.Output, flag: str) -> outputs.Output:
    return path if isinstance(path, outputs.Output) else outputs.plan(flag, path)


def write_jsonl(
    path: str | Path | outputs.Output,
    summary: Summary,
    spool: Spool | None = None,
    *,
    stdout: TextIO | None = None,
) -> None:
    """One ``cart-cli.order-result/1`` line per order, in input order, written as read (to a
    path as core.outputs writes it; ``-`` is ``stdout``)."""
    lines = (line + b"\n" for line in json_lines(summary, spool))
    outputs.write(_output(path, "--jsonl"), lines, stdout=stdout)


def write_summary_json(out: TextIO, summary: Summary, spool: Spool | None = None) -> None:
    """The batch-result document, written piece by piece: the counts, then the orders one line
    each as they are read back. One valid JSON document, never whole in memory."""
    head = json.dumps(summary.to_json(orders=False), indent=2, default=str)
    out.write(head[: -len("\n}")] + ',\n  "orders": [')
    sep = "\n    "
    for line in json_lines(summary, spool):
        out.write(sep + line.decode())
        sep = ",\n    "
    out.write("\n  ]\n}\n" if summary.outcomes else "]\n}\n")


def classname(merchant: str) -> str:
    """Jenkins reads the dots of a classname as packages: a merchant domain keeps none."""
    return "cart-cli." + merchant.replace(".", "_")


def _case(suite: ET.Element, o: JobOutcome) -> str:
    """Append the testcase of one order; returns its kind: ok, failure, error or skipped."""
    r = o.result
    case = ET.SubElement(
        suite,
        "testcase",
        name=o.job.name,
        classname=classname(o.job.order.merchant),
        time=f"{o.seconds:.3f}",
    )
    props = {
        "job": o.job.id,
        "file": o.job.file,
        "index": o.job.index,
        "repeat": o.job.repeat,
        "outcome": o.group,
        "order_number": o.order_number,
        "request_id": o.request_id,
        "cart_id": o.cart_id,
    }
    for stage, ms in (r.stage_ms if r else {}).items():
        props[f"stage_ms.{stage}"] = ms
    if o.verdict is not None:
        for k, v in o.verdict.expected.to_json().items():
            props[f"expect.{k}"] = v
    # junit-10.xsd (Jenkins xunit) has no <properties> in a <testcase>: the order's details go
    # to its system-out, one "name: value" line each, after any failure or error.
    kind = _verdict(case, o)
    out = ET.SubElement(case, "system-out")
    out.text = "".join(f"{k}: {v}\n" for k, v in props.items() if v is not None)
    return kind


def _verdict(case: ET.Element, o: JobOutcome) -> str:
    r = o.result
    if o.verdict is not None and o.verdict.met:
        return "ok"  # what the order file expected happened: a pass, even for a decline
    if o.verdict is not None:
        v = o.verdict
        fail = ET.SubElement(
            case, "failure", type="ExpectationNotMet", message="; ".join(v.differences)
        )
        fail.text = (
            f"expected: {json.dumps(v.expected.to_json())}\n"
            f"actual:   {json.dumps(v.to_json()['actual'])}"
            + (f"\n{r.error.describe()}" if r and r.error else "")
        )
        return "failure"
    if o.status in (SKIPPED, NOT_RUN, INTERRUPTED):
        ET.SubElement(case, "skipped", message=o.note)
        return "skipped"
    if o.status == UNRESOLVED:
        ET.SubElement(case, "error", type="OutcomeUnknown", message=o.note).text = o.note
        return "error"
    if o.status == FAILED and r and r.error:
        kind = "failure" if r.error.exit_code in FAILURE_CODES else "error"
        el = ET.SubElement(case, kind, type=r.error.code, message=r.error.message)
        el.text = r.error.describe()
        return kind
    return "ok"


def junit_document(summary: Summary, suite_name: str = "cart-cli batch") -> bytes:
    suite = ET.Element("testsuite", name=suite_name)
    if summary.target:  # where the orders went, as suite properties
        props = ET.SubElement(suite, "properties")
        for k, v in summary.target.items():
            text = str(v).lower() if isinstance(v, bool) else "" if v is None else str(v)
            ET.SubElement(props, "property", name=f"target.{k}", value=text)
    counts = {"ok": 0, "failure": 0, "error": 0, "skipped": 0}
    for o in summary.outcomes:
        counts[_case(suite, o)] += 1
    attrs = {
        "tests": str(len(summary.outcomes)),
        "failures": str(counts["failure"]),
        "errors": str(counts["error"]),
        "skipped": str(counts["skipped"]),
        "time": f"{summary.elapsed:.3f}",  # wall time: the orders ran side by side
    }
    for k, v in attrs.items():
        suite.set(k, v)
    # junit-10.xsd allows no "skipped" on <testsuites>
    totals = {k: attrs[k] for k in ("tests", "failures", "errors", "time")}
    root = ET.Element("testsuites", name="cart-cli", **totals)
    root.append(suite)
    _xml_safe(root)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _xml_safe(root: ET.Element) -> None:
    """Text from servers and order files may hold what XML 1.0 cannot (ESC, NUL): shown as
    escapes, or no JUnit reader could read the report."""
    for el in root.iter():
        if el.text:
            el.text = xml_text(el.text)
        for k, v in el.attrib.items():
            el.set(k, xml_text(v))


def write_junit(
    path: str | Path | outputs.Output, summary: Summary, *, stdout: TextIO | None = None
) -> None:
    outputs.write(_output(path, "--junit"), junit_document(summary), stdout=stdout)
