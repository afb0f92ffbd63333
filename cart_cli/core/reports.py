"""Batch reports written as orders finish: JSON Lines and JUnit XML. No card data enters them."""

from __future__ import annotations

import json
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

from cart_cli.core.batch import FAILED, SKIPPED, UNRESOLVED, JobOutcome, Listener
from cart_cli.core.errors import Exit, UsageError
from cart_cli.core.files import atomic_write

# Business outcomes are test failures; infrastructure trouble is a test error.
FAILURE_CODES = {Exit.USAGE, Exit.DECLINED, Exit.PRODUCT, Exit.CAPTCHA}


class JsonlReport(Listener):
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.fh = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 - open for the batch
        except OSError as e:
            raise UsageError(f"cannot write {self.path}: {e.strerror or e}") from None
        self.lock = threading.Lock()

    def finished(self, outcome: JobOutcome) -> None:
        with self.lock:
            self.fh.write(json.dumps(outcome.to_json(), default=str) + "\n")
            self.fh.flush()

    def close(self) -> None:
        self.fh.close()


class JunitReport(Listener):
    """One testcase per order, named by file and index; the file is rewritten as each finishes."""

    def __init__(self, path: str | Path, suite: str = "cart-cli batch") -> None:
        self.path = Path(path)
        self.suite = suite
        self.outcomes: list[JobOutcome] = []
        self.lock = threading.Lock()
        try:
            self._write()
        except OSError as e:
            raise UsageError(f"cannot write {self.path}: {e.strerror or e}") from None

    def finished(self, outcome: JobOutcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)
            self._write()

    def close(self) -> None:
        pass  # written as each order finished

    def document(self) -> ET.Element:
        failures = errors = skipped = 0
        total_time = 0.0
        suite = ET.Element("testsuite", name=self.suite)
        for o in self.outcomes:
            total_time += o.seconds
            case = ET.SubElement(
                suite,
                "testcase",
                name=o.job.name,
                classname=f"cart-cli.{o.job.order.merchant}",
                time=f"{o.seconds:.3f}",
            )
            props = {"file": o.job.file, "index": o.job.index, "repeat": o.job.repeat}
            r = o.result
            if r and r.ok:
                props["order_number"] = r.order.get("platform_order_number")
                props["cart_id"] = r.order.get("cart_id")
            for stage, ms in (r.stage_ms if r else {}).items():
                props[f"stage_ms.{stage}"] = ms
            el = ET.SubElement(case, "properties")
            for k, v in props.items():
                if v is not None:
                    ET.SubElement(el, "property", name=k, value=str(v))
            if o.status == SKIPPED:
                skipped += 1
                ET.SubElement(case, "skipped", message=o.note)
            elif o.status == UNRESOLVED:
                errors += 1
                err = ET.SubElement(case, "error", type="OutcomeUnknown", message=o.note)
                err.text = o.note
            elif o.status == FAILED and r and r.error:
                is_failure = r.error.exit_code in FAILURE_CODES
                failures += is_failure
                errors += not is_failure
                tag = "failure" if is_failure else "error"
                el = ET.SubElement(case, tag, type=r.error.code, message=r.error.message)
                el.text = r.error.describe()
        suite.set("tests", str(len(self.outcomes)))
        suite.set("failures", str(failures))
        suite.set("errors", str(errors))
        suite.set("skipped", str(skipped))
        suite.set("time", f"{total_time:.3f}")
        root = ET.Element(
            "testsuites",
            name="cart-cli",
            tests=suite.get("tests"),
            failures=str(failures),
            errors=str(errors),
            time=suite.get("time"),
        )
        root.append(suite)
        return root

    def _write(self) -> None:
        root = self.document()
        ET.indent(root)
        data = ET.tostring(root, encoding="utf-8", xml_declaration=True)
        atomic_write(self.path, data, mode=0o644)  # a report, like the JSONL one
