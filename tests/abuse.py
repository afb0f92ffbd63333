"""Tools for abusing a sandbox on loopback, shared by tests/test_sandbox_abuse.py and
scripts/sandbox_abuse.py: a sandbox in its own process (a file descriptor limit of our choice,
its log in a file, its peak memory readable), connections that never finish their request,
a timed legitimate request, a big body."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_RUN = """
import resource, sys
nofile, head_timeout = int(sys.argv[1]), float(sys.argv[2])
if nofile:
    resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
if head_timeout:
    import cart_cli.sandbox.protocol as protocol
    protocol.HEAD_TIMEOUT = head_timeout
sys.argv = ["cart-cli", "sandbox", "--port", "0"]
from cart_cli.__main__ import main
sys.exit(main())
"""


class SandboxProcess:
    """``cart-cli sandbox`` in a child process, its log (stderr) in ``log_path``; ``nofile``:
    its file descriptor limit; ``head_timeout``: protocol.HEAD_TIMEOUT (0: as shipped)."""

    def __init__(self, log_path: Path, nofile: int = 0, head_timeout: float = 0) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _RUN, str(nofile), str(head_timeout)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            cwd=ROOT,
            env={**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 30
        while True:
            m = re.search(rb"listening on http://127\.0\.0\.1:(\d+)", log_path.read_bytes())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the sandbox did not start: {self.log()}")
            time.sleep(0.02)

    def log(self) -> str:
        return self.log_path.read_bytes().decode("utf-8", "backslashreplace")

    def peak_rss_mb(self) -> float:
        """The process's peak resident memory so far (VmHWM), in MB."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def hold_incomplete(port: int, n: int, timeout: float = 10.0) -> list[socket.socket]:
    """``n`` connections that each send the start of a request head and never finish it. Some
    may not be accepted (a full backlog): their connect() still returns, or times out."""
    held = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            s.connect(("127.0.0.1", port))
        held.append(s)
    deadline = time.monotonic() + timeout
    for s in held:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        with contextlib.suppress(OSError):
            s.sendall(b"GET /__sandbox/stock HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    return held


def closed_by_server(sockets: list[socket.socket]) -> int:
    """How many of these connections the server has closed (read gives EOF or a reset)."""
    closed = 0
    for s in sockets:
        s.setblocking(False)
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    closed += 1
                    break
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    return closed


def release(sockets: list[socket.socket]) -> None:
    for s in sockets:
        s.close()


def timed_get(port: int, path: str = "/__sandbox/stock", timeout: float = 15.0):
    """(seconds, status, body) of one legitimate request on a new connection."""
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    return time.monotonic() - start, resp.status, body


def big_body(port: int, size: int, path: str, chunk: int = 1 << 20, timeout: float = 30.0):
    """POST ``size`` bytes (a JSON-looking run of spaces) and return (status, body, sent bytes);
    status 0 if the server closed the connection before answering."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sent = 0
    try:
        s.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Transfer-Encoding: chunked\r\nx-firmly-app-id: t\r\n\r\n".encode()
        )
        piece = b"%x\r\n" % chunk + b" " * chunk + b"\r\n"
        with contextlib.suppress(OSError):
            while sent < size:
                s.sendall(piece)
                sent += chunk
            s.sendall(b"0\r\n\r\n")
        data = b""
        with contextlib.suppress(OSError):
            while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4:
                more = s.recv(65536)
                if not more:
                    break
                data += more
            head, _, rest = data.partition(b"\r\n\r\n")
            m = re.search(rb"content-length: (\d+)", head, re.I)
            while m and len(rest) < int(m.group(1)):
                more = s.recv(65536)
                if not more:
                    break
                rest += more
        if not data.startswith(b"HTTP/1.1 "):
            return 0, b"", sent
        return int(data[9:12]), rest, sent
    finally:
        s.close()


def raw_request(port: int, data: bytes, timeout: float = 10.0) -> tuple[int, dict | bytes]:
    """Send raw bytes, read the answer until the server closes or a whole JSON body arrived:
    (status, parsed JSON body or the raw bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        with contextlib.suppress(OSError):
            s.sendall(data)
        got = b""
        with contextlib.suppress(OSError):
            while True:
                more = s.recv(65536)
                if not more:
                    break
                got += more
                head, sep, rest = got.partition(b"\r\n\r\n")
                m = re.search(rb"content-length: (\d+)", head, re.I)
                if sep and m and len(rest) >= int(m.group(1)):
                    break
    head, _, rest = got.partition(b"\r\n\r\n")
    status = int(head[9:12]) if head.startswith(b"HTTP/1.1 ") else 0
    try:
        return status, json.loads(rest)
    except ValueError:
        return status, rest
