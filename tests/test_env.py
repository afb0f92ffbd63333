"""The Environment main() makes, and the small process-facing helpers it relies on."""

from __future__ import annotations

import io
import os
import stat
from datetime import date

import pytest

from cart_cli.cli.env import Environment, SafeStream
from cart_cli.core.files import atomic_write
from cart_cli.wire.clock import fixed_clock


class _Gone(io.StringIO):
    def write(self, text):
        raise BrokenPipeError

    def flush(self):
        raise BrokenPipeError


def test_a_stream_whose_reader_is_gone_drops_output_instead_of_failing():
    s = SafeStream(_Gone())
    assert s.write("progress\n") == len("progress\n")  # no exception
    assert s.broken
    s.flush()
    s.write("more")  # still nothing raised
    nothing = SafeStream(None)  # a stream that was never open (`2>&-`)
    assert nothing.broken and nothing.write("x") == 1 and not nothing.isatty()
    with pytest.raises(io.UnsupportedOperation):
        nothing.fileno()
    assert SafeStream(io.StringIO()).encoding == "utf-8"


def test_a_broken_real_pipe_is_pointed_at_devnull(tmp_path):
    r, w = os.pipe()
    os.close(r)
    stream = os.fdopen(w, "w")
    s = SafeStream(stream)
    s.write("x" * 100_000)
    s.flush()
    assert s.broken
    stream.write("buffered for the flush at exit")
    stream.close()  # goes to /dev/null now: no BrokenPipeError at interpreter exit


def test_the_clock_can_be_fixed_and_a_bad_value_is_explained():
    env = Environment(clock=fixed_clock("2031-09-01"))
    assert env.today() == date(2031, 9, 1) and env.now().tzinfo is not None
    with pytest.raises(ValueError, match="CART_CLI_NOW='soon' is not a date like 2031-09-01"):
        fixed_clock("soon")


def test_folders_come_from_the_environment_or_the_platform(tmp_path):
    env = Environment(environ={"CART_CLI_CACHE_DIR": str(tmp_path / "c")})
    assert env.cache_dir == tmp_path / "c"
    env = Environment(environ={"CART_CLI_CONFIG_DIR": str(tmp_path / "k")})
    assert env.config_dir == tmp_path / "k"
    default = Environment(environ={})
    assert default.cache_dir.name == "cart-cli" and default.config_dir.name == "cart-cli"


def test_from_process_reads_the_process_once(monkeypatch):
    monkeypatch.setenv("CART_CLI_NOW", "2031-01-02T03:04:05")
    env = Environment.from_process()
    assert env.today() == date(2031, 1, 2)
    assert isinstance(env.stdout, SafeStream) and isinstance(env.stderr, SafeStream)


def test_stdin_without_a_byte_buffer_is_read_too():
    env = Environment(stdin=io.StringIO("number: '4111'\n"))
    assert env.read_stdin(100) == b"number: '4111'\n"
    inputs = env.order_inputs(prompt_card=lambda today: {})
    assert inputs.read_stdin is not None and inputs.prompt_card is None  # not a terminal


def test_atomic_write_syncs_the_file_and_its_folder(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(
        os, "fsync", lambda fd: (synced.append(stat.S_ISDIR(os.fstat(fd).st_mode)), real(fd))
    )
    target = tmp_path / "report.xml"
    atomic_write(target, b"<ok/>", mode=0o600)
    assert target.read_bytes() == b"<ok/>" and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert synced == [False, True]  # the data first, then the rename in the folder


def test_atomic_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "report.xml"
    target.write_bytes(b"old")

    def fail(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, b"new", mode=0o644)
    assert target.read_bytes() == b"old" and list(tmp_path.iterdir()) == [target]


def test_the_tests_are_sealed_from_the_callers_terminal_settings():
    """The suite passes with the caller's COLUMNS, TERM, FORCE_COLOR... exported (pytest-xdist
    sets COLUMNS; a CI runner sets TERM=dumb): conftest drops them before rich or typer loads."""
    import subprocess
    import sys

    from tests.conftest import RENDERING_VARS
    from tests.helpers import ROOT

    assert not set(RENDERING_VARS) & set(os.environ)
    width_and_terminal = [
        "tests/test_render.py::test_progress_choice_follows_the_terminal",
        "tests/test_render.py::test_the_display_collapses_to_one_line_when_done",
    ]
    caller = {"COLUMNS": "80", "LINES": "10", "TERM": "dumb", "FORCE_COLOR": "1", "CLICOLOR": "0"}
    p = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *width_and_terminal],
        cwd=ROOT,
        env={**os.environ, **caller},
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert p.returncode == 0, p.stdout[-3000:]
