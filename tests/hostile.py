"""A hostile HTTP server on loopback, for the client's defences (issue 17).

Each request is answered by the route whose path suffix matches: a function ``(request, conn)``
that writes whatever raw bytes it likes to the socket (redirects, drips, endless streams, bombs,
garbage). The server records every request it reads. It binds 127.0.0.1 only, every loop in it
ends when the server stops, and stopping closes every connection it holds."""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

SESSION = {"access_token": "tok-hostile", "expires_in": 3600, "device_id": "d1"}
ORDER = {
    "platform_order_number": "H-1",
    "total": {"currency": "USD", "value": 22.0, "number": 2200},
}


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Hostile:
    routes: dict[str, Callable[[Request, Conn], None]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    connections: int = 0

    def __post_init__(self) -> None:
        self.stop = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def __enter__(self) -> Hostile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.stop.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept at once (Linux)
        self._thread.join(5)
        self.sock.close()
        with self._lock:
            for s in self._open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def paths(self) -> list[str]:
        return [r.path.split("?")[0] for r in self.requests]

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                s, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self.connections += 1
                self._open.append(s)
            threading.Thread(target=self._serve, args=(s,), daemon=True).start()

    def _serve(self, s: socket.socket) -> None:
        s.settimeout(5)
        conn = Conn(s, self.stop)
        try:
            while not self.stop.is_set():
                req = conn.read_request()
                if req is None:
                    return
                self.requests.append(req)
                route = next(
                    (h for k, h in self.routes.items() if req.path.split("?")[0].endswith(k)),
                    None,
                )
                (route or not_found)(req, conn)
                if conn.closed:
                    return
        except OSError:
            return
        finally:
            with contextlib.suppress(OSError):
                s.close()


class Conn:
    """One client connection, as a handler sees it."""

    def __init__(self, sock: socket.socket, stop: threading.Event) -> None:
        self.sock, self.stop, self.buf, self.closed = sock, stop, b"", False

    def read_request(self) -> Request | None:
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 1 << 16:
                return None
            try:
                data = self.sock.recv(65536)
            except (TimeoutError, OSError):
                return None
            if not data:
                return None
            self.buf += data
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length") or 0)
        while len(self.buf) < n:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data
        body, self.buf = self.buf[:n], self.buf[n:]
        return Request(method, path, headers, body)

    def send(self, data: bytes) -> bool:
        """False once the client has gone or the server stops."""
        if self.stop.is_set():
            return False
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def wait(self, seconds: float) -> bool:
        """Sleep (ended early when the server stops); True while the server runs."""
        return not self.stop.wait(seconds)

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)


# ---- answers ---------------------------------------------------------------------------------


def head(status: int = 200, ctype: str = "application/json", length: int | None = None, **extra):
    lines = [f"HTTP/1.1 {status} X", f"content-type: {ctype}"]
    if length is not None:
        lines.append(f"content-length: {length}")
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in extra.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def raw_json(body: bytes, status: int = 200, **extra):
    def handler(req: Request, conn: Conn) -> None:
        conn.send(head(status, length=len(body), **extra) + body)

    return handler


def answer(obj, status: int = 200, **extra):
    return raw_json(json.dumps(obj).encode(), status, **extra)


def not_found(req: Request, conn: Conn) -> None:
    raw_json(b'{"error": "ErrorNotFound", "description": "no route"}', 404)(req, conn)


def redirect(status: int, location: str):
    def handler(req: Request, conn: Conn) -> None:
        conn.send(head(status, "text/html", 0, location=location))

    return handler


def drip(first: bytes, byte: bytes, every: float, ctype: str = "application/json"):
    """Headers, then ``first``, then ``byte`` every ``every`` seconds until the client goes."""

    def handler(req: Request, conn: Conn) -> None:
        ok = conn.send(head(200, ctype, connection="close") + first)
        while ok and conn.wait(every):
            ok = conn.send(byte)
        conn.close()

    return handler


def drip_head(every: float):
    """The status line and headers, a byte at a time, never finished."""

    def handler(req: Request, conn: Conn) -> None:
        for b in b"HTTP/1.1 200 OK\r\nx-slow: " + b"a" * 10_000:
            if not (conn.send(bytes([b])) and conn.wait(every)):
                break
        conn.close()

    return handler


def continue_flood(every: float = 0.01):
    """``100 Continue`` answers, for ever."""

    def handler(req: Request, conn: Conn) -> None:
        while conn.send(b"HTTP/1.1 100 Continue\r\n\r\n") and conn.wait(every):
            pass
        conn.close()

    return handler


def endless(first: bytes, piece: bytes, ctype: str = "text/event-stream"):
    """Headers (no length: the answer ends when the connection closes), then ``piece`` as
    fast as the client takes it, for ever."""

    def handler(req: Request, conn: Conn) -> None:
        ok = conn.send(head(200, ctype, connection="close") + first)
        block = piece * max(1, (1 << 18) // len(piece))
        while ok:
            ok = conn.send(block)
        conn.close()

    return handler


def gzip_bomb(ctype: str = "application/json", size: int = 1 << 30):
    """A gzip-encoded answer that expands to ``size`` bytes of spaces (made once, ~1 MiB)."""
    data = _bomb(size)

    def handler(req: Request, conn: Conn) -> None:
        conn.send(head(200, ctype, len(data), content_encoding="gzip") + data)

    return handler


_BOMBS: dict[int, bytes] = {}


def _bomb(size: int) -> bytes:
    if size not in _BOMBS:
        import io

        out = io.BytesIO()
        with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as f:
            block = b" " * (1 << 20)
            for _ in range(size >> 20):
                f.write(block)
        _BOMBS[size] = out.getvalue()
    return _BOMBS[size]


def sse(*events: tuple[str, object]) -> bytes:
    return b"".join(
        f"event: {name}\ndata: {data if isinstance(data, str) else json.dumps(data)}\n\n".encode()
        for name, data in events
    )


def sse_answer(body: bytes):
    def handler(req: Request, conn: Conn) -> None:
        conn.send(head(200, "text/event-stream", len(body)) + body)

    return handler


def b64(n: int) -> str:
    raw = n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# A real 2048-bit RSA modulus (the server never decrypts: no private key is kept).
_N = (
    "yJMQnWV2D81fuNaCST4fuKA2NtgsB2uAQzl3e-yKGSNZE6ATlWCvXVrURK8TdZrq7l7U8ndTKfvPhldx"
    "aIC4EtbIKGI2C8Gb58WXRG-R9ZXvY0deBsx1Igiva7hWZSsTfM7aB79ufH7zCxxWlAmQV3Ay1AjBsnjz"
    "5gZghavPPtQql3QQCKh2SYCWsPtDxNEZzkcYj1ASf2wcCDfsFRLMnEeHAzDS-3g2YHD8tLCcggzR7fou"
    "6XlJRRtd6RU3PdqeRfTENMDCfAgN8e8EgHlJkILj1G7Gu_s-Mca701nlE_q8rsr4MPXSZ61uIctuY585"
    "wA_7Ji5C9pxvT23Syt6FxQ"
)


def jwk() -> dict:
    return {"kty": "RSA", "kid": "k1", "n": _N, "e": "AQAB"}


def good_routes(**over) -> dict:
    """Session, key and order answered correctly; ``over`` replaces any (by path suffix)."""
    routes = {
        "/browser-session": answer(SESSION),
        "/payment/key": answer(jwk()),
        "/place-order": answer(ORDER),
        "/complete-order": answer(ORDER),
    }
    routes.update({k.replace("_", "-"): v for k, v in over.items()})
    return routes
