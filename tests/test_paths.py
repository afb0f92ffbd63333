"""Safe on the user's own system (issue 16): output paths behave like a shell redirect, done
safely; cart-cli appends only to its own ledger; closed pipes; odd input; self-contained receipts.

These tests run as root in CI images, where permissions stop nothing: an unwritable folder is
made by a path whose folder is a file, or by refusing os.access."""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cart_cli.core import outputs
from cart_cli.core.errors import UsageError
from cart_cli.core.files import atomic_write
from tests.helpers import cli, sandbox_orders
from tests.test_batch import batch, distinct_orders

LEDGER = ".cart-cli-ledger.jsonl"


def records(text: str) -> list[dict]:
    return [json.loads(x) for x in text.splitlines() if x.strip()]


class FifoReader:
    """Reads a FIFO in a thread (its writer blocks until a reader opens it, like a shell's)."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path, self.data = path, b""
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with open(self.path, "rb") as fh:
            self.data = fh.read()

    def result(self) -> bytes:
        self.thread.join(timeout=20)
        assert not self.thread.is_alive(), "nothing wrote to the FIFO"
        return self.data


# ---- the helper ---------------------------------------------------------------------------------


def test_a_new_or_regular_file_is_written_atomically_mode_0600(tmp_path):
    for name in ("new.jsonl", "old.jsonl"):
        (tmp_path / "old.jsonl").write_text("old")
        out = outputs.plan("--jsonl", tmp_path / name)
        assert out.kind is outputs.Kind.FILE
        outputs.write(out, [b"a\n", b"b\n"])
        assert (tmp_path / name).read_bytes() == b"a\nb\n"
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


def test_a_symlink_is_followed_and_stays_a_link(tmp_path):
    (tmp_path / "reports").mkdir()
    target = tmp_path / "reports" / "r.xml"
    target.write_text("old")
    link = tmp_path / "r.xml"
    link.symlink_to(target)
    dangling = tmp_path / "d.xml"
    dangling.symlink_to(tmp_path / "reports" / "new.xml")
    for path in (link, dangling):
        outputs.write(outputs.plan("--junit", path), b"<ok/>")
        assert path.is_symlink() and path.read_bytes() == b"<ok/>"
    assert target.read_bytes() == b"<ok/>" and (tmp_path / "reports" / "new.xml").exists()
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["new.xml", "r.xml"]


def test_dash_is_standard_output(tmp_path):
    import io

    out = outputs.plan("--jsonl", "-")
    assert out.is_stdout
    stream = io.StringIO()
    outputs.write(out, [b'{"a":1}\n', b'{"b":2}\n'], stdout=stream)
    assert stream.getvalue() == '{"a":1}\n{"b":2}\n'
    assert not (tmp_path / "-").exists()


def test_a_fifo_is_written_in_place_never_replaced(tmp_path):
    fifo = tmp_path / "r.fifo"
    reader = FifoReader(fifo)
    out = outputs.plan("--jsonl", fifo)
    assert out.kind is outputs.Kind.SPECIAL
    outputs.write(out, [b"one\n", b"two\n"])
    assert reader.result() == b"one\ntwo\n"
    assert stat.S_ISFIFO(fifo.lstat().st_mode)  # still a FIFO, mode untouched
    assert [p.name for p in tmp_path.iterdir()] == ["r.fifo"]


def test_dev_null_stays_a_character_device():
    """As root, the old way (a temporary file renamed over the path) replaced /dev/null."""
    before = os.stat("/dev/null")
    out = outputs.plan("--junit", "/dev/null")
    assert out.kind is outputs.Kind.SPECIAL
    outputs.write(out, b"<testsuites/>")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_mode == before.st_mode
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


def test_atomic_write_never_replaces_what_is_not_a_regular_file(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(OSError, match="not a regular file"):
        atomic_write(tmp_path / "fifo", b"x", mode=0o600)
    with pytest.raises(OSError, match="not a regular file"):
        atomic_write(Path("/dev/null"), b"x", mode=0o600)
    assert stat.S_ISFIFO((tmp_path / "fifo").lstat().st_mode)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_unix_socket_is_connected_to_and_written(tmp_path):
    path = tmp_path / "r.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    got = []

    def serve():
        conn, _ = server.accept()
        with conn:
            while chunk := conn.recv(4096):
                got.append(chunk)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        out = outputs.plan("--jsonl", path)
        assert out.kind is outputs.Kind.SOCKET
        outputs.write(out, [b"a\n", b"b\n"])
        t.join(timeout=10)
    finally:
        server.close()
    assert b"".join(got) == b"a\nb\n" and stat.S_ISSOCK(path.lstat().st_mode)


def test_paths_that_cannot_be_written_are_refused_when_planned(tmp_path, monkeypatch):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    cases = {
        tmp_path / "afile" / "r.xml": "not a folder",  # root cannot write there either
        tmp_path / "missing" / "r.xml": "no such folder",
        tmp_path / "adir": "it is a folder",
    }
    for path, why in cases.items():
        with pytest.raises(UsageError, match=why):
            outputs.plan("--junit", path)
    # Root may write anywhere: stand in for a folder that is not writable.
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, m: False if str(p) == str(tmp_path / "adir") else real_access(p, m)
    )
    with pytest.raises(UsageError, match="permission denied in the folder"):
        outputs.plan("--junit", tmp_path / "adir" / "r.xml")


def test_a_writable_file_in_a_folder_that_is_not_is_rewritten_in_place(tmp_path, monkeypatch):
    path = tmp_path / "adir" / "r.xml"
    path.parent.mkdir()
    path.write_text("old and longer")
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, m: False if str(p) == str(path.parent) else real_access(p, m)
    )
    out = outputs.plan("--junit", path)
    assert out.kind is outputs.Kind.IN_PLACE
    ino = path.stat().st_ino
    outputs.write(out, b"new")
    assert path.read_bytes() == b"new" and path.stat().st_ino == ino


def test_outputs_must_not_collide_through_links(tmp_path):
    (tmp_path / "r.xml").write_text("")
    (tmp_path / "link.xml").symlink_to(tmp_path / "r.xml")
    os.link(tmp_path / "r.xml", tmp_path / "hard.xml")
    for other in ("link.xml", "hard.xml"):
        with pytest.raises(UsageError, match="are the same file"):
            outputs.plan_all({"--junit": tmp_path / "r.xml", "--jsonl": tmp_path / other})
        with pytest.raises(UsageError, match="are the same file"):
            outputs.plan_all({"--junit": tmp_path / other}, ledger=tmp_path / "r.xml")
    with pytest.raises(UsageError, match="both write to standard output"):
        outputs.plan_all({"--junit": "-", "--jsonl": "-"})
    # Special files may take more than one report: /dev/null for both is fine.
    both = outputs.plan_all({"--junit": "/dev/null", "--jsonl": "/dev/null"})
    assert all(o.kind is outputs.Kind.SPECIAL for o in both.values())


# ---- batch: the reports -------------------------------------------------------------------------


def test_batch_reports_through_a_symlink_a_fifo_and_dev_null(cart_sandbox, tmp_path):
    f = distinct_orders(tmp_path / "o.yaml", 2)
    (tmp_path / "out").mkdir()
    (tmp_path / "r.xml").symlink_to(tmp_path / "out" / "r.xml")
    reader = FifoReader(tmp_path / "r.fifo")
    r = batch(cart_sandbox, f, "--junit", "r.xml", "--jsonl", "r.fifo", "--json")
    assert r.code == 0, r.stderr
    assert (tmp_path / "r.xml").is_symlink()
    assert ET.parse(tmp_path / "out" / "r.xml").getroot().get("tests") == "2"
    assert len(records(reader.result().decode())) == 2
    assert stat.S_ISFIFO((tmp_path / "r.fifo").lstat().st_mode)
    r = batch(cart_sandbox, f, "--junit", "/dev/null", "--jsonl", "/dev/null", "--ledger", "l2")
    assert r.code == 0, r.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_batch_jsonl_dash_goes_to_stdout_and_the_summary_to_stderr(cart_sandbox, tmp_path):
    f = distinct_orders(tmp_path / "o.yaml", 2)
    r = batch(cart_sandbox, f, "--jsonl", "-")
    assert r.code == 0, r.stderr
    lines = records(r.stdout)  # only the report: every line JSON
    assert [x["status"] for x in lines] == ["placed", "placed"]
    assert "2 placed" in r.stderr and "placed" in r.stderr
    assert "Batch summary" in r.stderr
    assert all(line == line.rstrip() for line in r.stderr.splitlines())  # piped: no padding
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--jsonl", "-", "--junit", "-"], "both write to standard output"),
        (["--jsonl", "-", "--json"], "--json and --jsonl - both write to standard output"),
        (["--junit", "nofolder/r.xml"], "no such folder"),
        (["--junit", "o.yaml/r.xml"], "not a folder"),
    ],
)
def test_batch_refuses_reports_before_anything_is_sent(cart_sandbox, tmp_path, flags, said):
    f = distinct_orders(tmp_path / "o.yaml", 1)
    r = batch(cart_sandbox, f, *flags)
    assert r.code == 2 and said in r.stderr
    assert sandbox_orders(cart_sandbox) == [] and not (tmp_path / LEDGER).exists()


# ---- the ledger is cart-cli's own ---------------------------------------------------------------


def test_a_new_ledger_starts_with_its_header(cart_sandbox, tmp_path):
    f = distinct_orders(tmp_path / "o.yaml", 1)
    assert batch(cart_sandbox, f).code == 0
    header, *rest = records((tmp_path / LEDGER).read_text())
    assert header["cart-cli"] == "ledger" and header["v"] == 2 and "created" in header
    assert [x["event"] for x in rest] == ["submitting", "result"]


@pytest.mark.parametrize("how", ["plain", "symlink"])
def test_a_ledger_that_is_not_a_ledger_is_refused_before_anything_is_sent(
    cart_sandbox, tmp_path, how
):
    f = distinct_orders(tmp_path / "o.yaml", 1)
    bashrc = tmp_path / "bashrc"
    bashrc.write_text("export PATH=$HOME/bin:$PATH\n")
    if how == "symlink":
        (tmp_path / LEDGER).symlink_to(bashrc)
        r = batch(cart_sandbox, f)
    else:
        r = batch(cart_sandbox, f, "--ledger", bashrc)
    assert r.code == 2 and "not a cart-cli ledger" in r.stderr
    assert bashrc.read_text() == "export PATH=$HOME/bin:$PATH\n"
    assert sandbox_orders(cart_sandbox) == []


def test_a_symlinked_ledger_is_appended_through_the_link(cart_sandbox, tmp_path):
    f = distinct_orders(tmp_path / "o.yaml", 1)
    (tmp_path / "keep").mkdir()
    (tmp_path / LEDGER).symlink_to(tmp_path / "keep" / "ledger.jsonl")
    assert batch(cart_sandbox, f).code == 0
    assert batch(cart_sandbox, f, "--resume").code == 0
    assert (tmp_path / LEDGER).is_symlink()
    lines = records((tmp_path / "keep" / "ledger.jsonl").read_text())
    assert lines[0]["cart-cli"] == "ledger" and sum("cart-cli" in x for x in lines) == 1
    assert len(sandbox_orders(cart_sandbox)) == 1  # the resume read it through the link


@pytest.mark.parametrize("special", ["fifo", "/dev/null"])
def test_a_ledger_that_is_a_device_or_fifo_is_refused(cart_sandbox, tmp_path, special):
    f = distinct_orders(tmp_path / "o.yaml", 1)
    path = special
    if special == "fifo":
        path = tmp_path / "l.fifo"
        os.mkfifo(path)
    r = batch(cart_sandbox, f, "--ledger", path)
    assert r.code == 2 and "not a regular file" in r.stderr
    assert sandbox_orders(cart_sandbox) == [] and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_an_old_ledger_without_a_header_is_still_appended_to(cart_sandbox, tmp_path):
    f = distinct_orders(tmp_path / "o.yaml", 1)
    old = {"event": "result", "id": "x|abc|0|0", "outcome": "placed", "order_number": "1"}
    (tmp_path / LEDGER).write_text(json.dumps(old) + "\n")
    r = batch(cart_sandbox, f)
    assert r.code == 0, r.stderr
    lines = records((tmp_path / LEDGER).read_text())
    assert lines[0] == old and [x.get("event") for x in lines[1:]] == ["submitting", "result"]


def test_ledger_resolve_is_refused_while_a_batch_holds_the_ledger(cart_sandbox, tmp_path):
    from cart_cli.core import ledger as ledgers

    f = distinct_orders(tmp_path / "o.yaml", 1)
    r = batch(cart_sandbox, f, "-H", "x-sandbox-fault: commit-then-cut", "--json")
    job = r.json()["unknown"][0]["job"]
    with ledgers.Ledger(tmp_path / LEDGER).held():  # a batch in flight on it
        r = cli(["ledger", "resolve", job, "--not-placed"])
    assert r.code == 2 and "in use by a batch run" in r.stderr
    assert records((tmp_path / LEDGER).read_text())[-1]["event"] == "result"
    r = cli(["ledger", "resolve", job, "--not-placed"])
    assert r.code == 0, r.stderr


# ---- closed pipes -------------------------------------------------------------------------------


def run_with_stdout_closed(args: list[str]) -> tuple[int, str]:
    """The installed command with nobody reading its stdout (`cart-cli ... | true`)."""
    import subprocess

    from tests.helpers import CLI

    read, write = os.pipe()
    os.close(read)  # the reader has gone before the first byte
    try:
        p = subprocess.run(
            [CLI, *map(str, args)], stdout=write, stderr=subprocess.PIPE, text=True, timeout=60
        )
    finally:
        os.close(write)
    return p.returncode, p.stderr


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--version"], 0),
        (["--help"], 0),
        (["batch", "--help"], 0),
        (["ledger", "--help"], 0),
        (["validate", "o.yaml"], 0),
        (["validate", "--json", "o.yaml"], 0),
        (["validate", "bad.yaml"], 2),
        (["ledger", "l.jsonl"], 0),
        (["ledger", "--json", "l.jsonl"], 0),
        (["orders", "list"], 0),
        (["profile", "list"], 0),
        (["place", "o.yaml", "--sandbox"], 0),
        (["place", "o.yaml", "--sandbox", "--json"], 0),
        (["batch", "o.yaml", "--sandbox", "--ledger", "b.jsonl"], 0),
        (["batch", "o.yaml", "--sandbox", "--ledger", "c.jsonl", "--jsonl", "-"], 0),
    ],
)
def test_a_closed_stdout_changes_no_exit_code_and_prints_no_traceback(tmp_path, args, code):
    from tests.helpers import write_order

    write_order(tmp_path / "o.yaml")
    (tmp_path / "bad.yaml").write_text("merchant: [\n")
    ledger = '{"cart-cli":"ledger","v":2}\n'
    (tmp_path / "l.jsonl").write_text(ledger)
    got, stderr = run_with_stdout_closed(args)
    assert "Traceback" not in stderr and "internal error" not in stderr
    assert got == code, stderr


# ---- odd input ----------------------------------------------------------------------------------

ORDER_HEAD = (
    "merchant: staging.luma.gift\ncard: test:visa\nitems:\n  - variant_id: WS12-XS-Orange\n"
)


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("    quantity: !!int", "items[0].quantity: !!int with no value"),  # an IndexError
        ("    quantity: !!float x", "items[0].quantity: not a number"),  # a ValueError
        ("    quantity: !!timestamp 2020-99-99", "items[0].quantity: not a date"),
        ("    quantity: !!int 1_0x", "items[0].quantity: not a whole number"),
    ],
)
@pytest.mark.parametrize("fast", [True, False])
def test_any_yaml_library_failure_is_a_problem_with_file_and_line(
    tmp_path, monkeypatch, line, said, fast
):
    from cart_cli.core import yamldoc

    monkeypatch.setattr(yamldoc, "USE_LIBYAML", fast)
    (tmp_path / "o.yaml").write_text(ORDER_HEAD + line + "\n")
    r = cli(["validate", "o.yaml"])
    assert r.code == 2 and "internal error" not in r.stderr
    assert f"o.yaml:5: {said}" in r.stderr
    r = cli(["validate", "--json", "o.yaml"])
    problems = r.json()["files"][0]["problems"]
    assert r.code == 2 and {"line": 5, "path": "items[0].quantity"}.items() <= problems[0].items()


def test_a_composer_failure_outside_yaml_error_is_a_problem_too(tmp_path, monkeypatch):
    import yaml

    def broken(*a, **k):
        raise IndexError("string index out of range")

    monkeypatch.setattr(yaml, "compose", broken)
    (tmp_path / "o.yaml").write_text(ORDER_HEAD)
    r = cli(["validate", "o.yaml"])
    assert r.code == 2 and "o.yaml: not valid YAML" in r.stderr


@pytest.mark.parametrize("command", ["validate", "batch"])
def test_an_unreadable_folder_is_exit_2_naming_it(tmp_path, monkeypatch, command):
    """Root reads any folder: the refusal the OS gives a user is made by hand here."""
    (tmp_path / "orders").mkdir()
    (tmp_path / "orders" / "o.yaml").write_text(ORDER_HEAD + "    quantity: 1\n")
    real = Path.iterdir

    def iterdir(self):
        if self.name == "orders":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    r = cli([command, "orders", *(["--sandbox"] if command == "batch" else [])])
    assert r.code == 2 and "cannot read orders: Permission denied" in r.stderr
    assert "internal error" not in r.stderr


def test_an_unreadable_order_file_is_exit_2_naming_it(tmp_path, monkeypatch):
    import builtins

    (tmp_path / "afile").write_text("x")
    (tmp_path / "o.yaml").write_text(ORDER_HEAD + "    quantity: 1\n")
    real = builtins.open

    def refusing(path, *a, **k):
        if str(path) == "o.yaml":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *a, **k)

    monkeypatch.setattr(builtins, "open", refusing)
    r = cli(["validate", "o.yaml", "afile/x.yaml"])  # the second: its folder is a file
    assert r.code == 2 and "internal error" not in r.stderr
    assert "o.yaml: cannot read: Permission denied" in r.stderr
    assert "afile/x.yaml: cannot read: Not a directory" in r.stderr


# ---- damaged lines: the ledger, the history, the config -----------------------------------------

DAMAGED = {
    "too deep": (b"[" * 100_000, "nested too deeply"),
    "not JSON": (b"{not json", "not JSON"),
    "not UTF-8": (b'{"a": "\xff\xfe"}', "not UTF-8 text"),
}


@pytest.mark.parametrize("damage", DAMAGED)
def test_a_damaged_ledger_line_is_named_with_file_and_line(cart_sandbox, tmp_path, damage):
    raw, said = DAMAGED[damage]
    f = distinct_orders(tmp_path / "o.yaml", 1)
    assert batch(cart_sandbox, f).code == 0
    with open(tmp_path / LEDGER, "ab") as fh:
        fh.write(raw + b"\n")
    r = cli(["ledger"])
    assert r.code == 0 and "internal error" not in r.stderr
    assert f"{LEDGER}:4: {said}" in r.stderr and "1 orders (0 unknown" in r.stdout
    r = cli(["ledger", "--json"])
    assert r.code == 0 and r.json()["problems"][0]["line"] == 4
    r = batch(cart_sandbox, f, "--resume", "--json")  # read again by a resume: no crash
    assert r.code == 0 and r.json()["skipped"] == 1


def test_ledger_list_of_a_file_that_is_not_a_ledger_says_so(tmp_path):
    (tmp_path / "notes.txt").write_text("shopping list\n")
    r = cli(["ledger", "notes.txt"])
    assert r.code == 2 and "notes.txt is not a cart-cli ledger" in r.stderr


@pytest.mark.parametrize("damage", DAMAGED)
def test_a_damaged_history_line_is_named_with_file_and_line(cart_sandbox, tmp_path, damage):
    raw, said = DAMAGED[damage]
    write_order_file = tmp_path / "o.yaml"
    from tests.helpers import target, write_order

    write_order(write_order_file)
    assert cli(["place", write_order_file, *target(cart_sandbox)]).code == 0
    history = tmp_path / "data" / "history.jsonl"
    with open(history, "ab") as fh:
        fh.write(raw + b"\n")
    for args in (["orders", "list"], ["orders", "list", "--json"]):
        r = cli(args)
        assert r.code == 0 and "internal error" not in r.stderr
        assert f"{history}:2: {said}" in r.stderr and "skipped" in r.stderr
    assert len(cli(["orders", "list", "--json"]).json()["orders"]) == 1


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (
            b'[profiles.a]\napi_url = "https://a.example"\nx = ' + b"[" * 100_000,
            ":3: not valid TOML",
        ),
        (b"[profiles.a]\napp_id = { a = " * 1 + b"{ b = " * 100_000, ":2: not valid TOML"),
        (b'[profiles.a]\napp_id = "\xff"\n', ":2: not UTF-8 text"),
        (b"[profiles.a\n", ":1: not valid TOML"),
    ],
)
def test_a_damaged_config_is_named_with_file_and_line(tmp_path, content, said):
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir()
    config.write_bytes(content)
    r = cli(["profile", "list"])
    assert r.code == 2 and "internal error" not in r.stderr
    assert f"{config}{said}" in r.stderr.replace("\n", "")


# ---- receipts -----------------------------------------------------------------------------------

# What a document may hold that looks like a URL and loads nothing: the SVG namespace.
NAMESPACES = {"http://www.w3.org/2000/svg"}


def loads_from_outside(doc: str) -> list[str]:
    """Everything in a document that could make a viewer fetch something: URLs (any scheme with
    //), url(...) that is not a local #id, @import, src= and href= to anything but #ids."""
    import re

    found = [u for u in re.findall(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"')<>]+", doc)]
    found = [u for u in found if u not in NAMESPACES]
    found += re.findall(r"url\(\s*['\"]?(?!#)[^)]*\)", doc)
    found += re.findall(r"@import[^;]*;", doc)
    found += re.findall(r"(?:src|href)\s*=\s*['\"](?!#)[^'\"]*['\"]", doc)
    return found


@pytest.mark.parametrize("suffix", [".svg", ".html"])
def test_a_saved_receipt_loads_nothing_from_outside_and_is_titled(cart_sandbox, tmp_path, suffix):
    from tests.helpers import target, write_order

    write_order(tmp_path / "o.yaml")
    r = cli(["place", "o.yaml", *target(cart_sandbox), "--receipt", f"r{suffix}", "--json"])
    assert r.code == 0, r.stderr
    order = r.json()["order"]
    number = order["platform_order_number"]
    doc = (tmp_path / f"r{suffix}").read_text("utf-8")
    # The thank-you page's address is text of the receipt (data), not something it loads.
    assert loads_from_outside(doc.replace(order["urls"]["thank_you_page"], "")) == []
    assert "Fira Code" not in doc or "@font-face" not in doc
    title = f"cart-cli receipt: order {number} at staging.luma.gift"
    if suffix == ".html":
        assert f"<title>{title}</title>" in doc
    else:
        assert title in doc.replace("&#160;", " ")
        assert ET.fromstring(doc).tag.endswith("svg")  # still well-formed


def test_the_url_scan_finds_what_rich_loads_by_default():
    """The scan above is not blind: rich's own SVG has a web font, its HTML no title."""
    from rich.console import Console

    console = Console(record=True, file=open(os.devnull, "w"), width=40)  # noqa: SIM115
    console.print("x")
    assert any("cdnjs" in u for u in loads_from_outside(console.export_svg(clear=False)))
    assert "<title>" not in console.export_html()


def test_receipt_paths_are_checked_before_the_order_is_sent(cart_sandbox, tmp_path, monkeypatch):
    from tests.helpers import target, write_order

    write_order(tmp_path / "o.yaml")
    (tmp_path / "locked").mkdir()
    real_access = os.access
    monkeypatch.setattr(  # root writes anywhere: a folder that refuses, by hand
        os, "access", lambda p, m: False if str(p).endswith("locked") else real_access(p, m)
    )
    for path, said in [
        ("locked/r.svg", "permission denied in the folder"),
        ("o.yaml/r.svg", "not a folder"),
        ("r.pdf", "must end in"),
    ]:
        r = cli(["place", "o.yaml", *target(cart_sandbox), "--receipt", path])
        assert r.code == 2 and said in r.stderr, r.stderr
    r = cli(["place", "o.yaml", *target(cart_sandbox), "--receipt", "-", "--json"])
    assert r.code == 2 and "both write to standard output" in r.stderr
    assert sandbox_orders(cart_sandbox) == []


def test_receipt_to_stdout_symlink_and_fifo(cart_sandbox, tmp_path):
    from tests.helpers import target, write_order

    write_order(tmp_path / "o.yaml")
    r = cli(["place", "o.yaml", *target(cart_sandbox), "--receipt", "-"])
    assert r.code == 0, r.stderr
    assert r.stdout.count("Order number") == 1 and not (tmp_path / "-").exists()
    assert "\x1b" not in r.stdout  # plain text
    (tmp_path / "keep").mkdir()
    (tmp_path / "r.html").symlink_to(tmp_path / "keep" / "r.html")
    reader = FifoReader(tmp_path / "r.svg")
    for name in ("r.html", "r.svg"):
        r = cli(["place", "o.yaml", *target(cart_sandbox), "--receipt", name])
        assert r.code == 0, r.stderr
    assert (tmp_path / "r.html").is_symlink() and "<title>" in (tmp_path / "r.html").read_text()
    assert b"<svg" in reader.result() and stat.S_ISFIFO((tmp_path / "r.svg").lstat().st_mode)


# ---- the card on a terminal ---------------------------------------------------------------------


def test_card_dash_on_a_terminal_asks_with_echo_off(cart_sandbox, tmp_path):
    """`--card -` with a terminal on stdin read YAML there with echo on: the number and CVV
    stayed on screen. Now the hidden prompt answers it."""
    from tests.helpers import (
        GOOD_YEAR,
        SECRET_CVV,
        SECRET_NUMBER,
        pty_exit_code,
        read_until,
        spawn_on_a_pty,
        target,
        write_order,
    )

    write_order(tmp_path / "o.yaml")
    pid, fd = spawn_on_a_pty(["place", tmp_path / "o.yaml", "--card", "-", *target(cart_sandbox)])
    seen = read_until(fd, b"Card number: ")
    # Each answer once its own prompt is up (what is typed ahead, before the prompt turns
    # echo off, is echoed and then flushed by it, like on any terminal).
    for answer, next_prompt in (
        (SECRET_NUMBER, b"Name on card: "),
        ("Ada Lovelace", b"Expiry (MM/YYYY): "),
        (f"11/{GOOD_YEAR}", b"CVV: "),
    ):
        os.write(fd, answer.encode() + b"\n")
        seen += read_until(fd, next_prompt)
    os.write(fd, SECRET_CVV.encode() + b"\n")
    code, rest = pty_exit_code(pid, fd)
    screen = (seen + rest).decode("utf-8", "replace")
    assert code == 0, screen
    assert "standard input is a terminal" in screen and "Order number" in screen
    assert SECRET_NUMBER not in screen and SECRET_CVV not in screen  # never echoed
    assert "Ada Lovelace" in screen  # the name is echoed: it is no secret
    assert len(sandbox_orders(cart_sandbox)) == 1


# ---- cart-cli's own files are never devices ------------------------------------------------------


def test_the_history_never_chmods_or_replaces_what_is_not_a_regular_file(tmp_path):
    """As root, a history file linked to /dev/null was chmod-ed 0600 (and a link in the way of
    the rotation was replaced)."""
    from cart_cli.core.history import History

    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "history.jsonl").symlink_to("/dev/null")
    before = os.stat("/dev/null")
    with pytest.raises(OSError, match="not a regular file"):
        History(folder).append({"schema": "cart-cli.history/1"})
    assert os.stat("/dev/null").st_mode == before.st_mode  # not chmod-ed
    (folder / "history.jsonl").unlink()
    os.mkfifo(folder / "history.jsonl")
    with pytest.raises(OSError, match="not a regular file"):  # and not waited on
        History(folder).append({"schema": "cart-cli.history/1"})
    (folder / "history.jsonl").unlink()
    (folder / "history.1.jsonl").symlink_to(tmp_path / "elsewhere")
    History(folder, max_bytes=10).append({"schema": "cart-cli.history/1", "x": "y" * 20})
    assert (folder / "history.1.jsonl").is_symlink()  # the rotation left it alone
    assert (folder / "history.jsonl").stat().st_size > 10


def test_profile_add_never_writes_a_config_that_is_a_fifo(tmp_path):
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir()
    os.mkfifo(config)
    r = cli(["profile", "add", "local", "--api-url", "http://127.0.0.1:1"])
    assert r.code == 2 and "internal error" not in r.stderr
    assert stat.S_ISFIFO(config.lstat().st_mode)


def test_dev_stdout_on_a_pipe_is_standard_output(tmp_path):
    """/dev/stdout is /proc/self/fd/1, whose link text (pipe:[123]) is no path: it was taken
    for a new file in a missing folder, and the report was lost at the end."""
    from tests.helpers import cli_subprocess, write_order

    write_order(tmp_path / "o.yaml")
    r = cli_subprocess(["batch", "o.yaml", "--sandbox", "--jsonl", "/dev/stdout", "--repeat", "2"])
    assert r.code == 0, r.stderr
    assert [x["status"] for x in records(r.stdout)] == ["placed", "placed"]  # only the report
    assert "2 placed" in r.stderr and "problem" not in r.stderr
    r = cli_subprocess(["batch", "o.yaml", "--sandbox", "--junit", "/dev/stdout", "--json"])
    assert r.code == 2 and "--junit /dev/stdout both write to standard output" in r.stderr


def test_place_never_writes_its_report_or_receipt_over_the_order_or_each_other(
    cart_sandbox, tmp_path
):
    from tests.helpers import target, write_order

    write_order(tmp_path / "o.yaml")
    before = (tmp_path / "o.yaml").read_bytes()
    (tmp_path / "link.html").symlink_to("o.yaml")
    for flags in (
        ["--report-html", "o.yaml"],
        ["--report-html", "link.html"],
        ["--receipt", "r.html", "--report-html", "r.html"],
    ):
        r = cli(["place", "o.yaml", *target(cart_sandbox), *flags])
        assert r.code == 2 and "are the same file" in r.stderr, (flags, r.stderr)
    assert (tmp_path / "o.yaml").read_bytes() == before and not (tmp_path / "r.html").exists()
    assert sandbox_orders(cart_sandbox) == []
