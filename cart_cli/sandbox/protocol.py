"""The sandbox's connection-level defences (docs/api.md, "Sandbox limits"), for a sandbox serving
CI services or ``--host`` on a network, where clients may be broken or hostile.

uvicorn (0.54) gives some of what is needed and is used for it (``server.py``):
``limit_concurrency`` (503 past N requests), ``timeout_keep_alive`` (an idle keep-alive
connection is closed), ``backlog``. What it does not give with httptools, and this
module adds as a thin subclass of uvicorn's own httptools protocol:

- a **deadline for the request head**: uvicorn arms no timer until a first response is sent, so a
  connection that never finishes its headers (slowloris) is held for ever. Here the request line
  and headers must arrive within ``HEAD_TIMEOUT`` of the connection opening (or of the first
  byte of a later request on a kept-alive connection).
- a **cap on the request head**: httptools (llhttp) has no header size limit (h11 has
  ``h11_max_incomplete_event_size``, but the sandbox uses httptools for its speed). Here the
  bytes received while the head is incomplete are counted, and past ``MAX_HEAD`` the
  connection gets a 431 and is closed, so no more than one read beyond the cap is buffered.
- a **JSON body** for the answers made below the app (400 for malformed HTTP, 431, 408, 503),
  in the contract's error shape, instead of uvicorn's plain text; and ``limit_concurrency``
  counting requests in progress only (uvicorn counts idle connections too: see
  ``on_headers_complete``).
- a connection whose answer was sent before its request body finished is closed (the rest of
  the body would otherwise be read, and discarded, for as long as the client drips it).

And for running out of file descriptors: asyncio's accept loop logs a full traceback for every
failed ``accept()`` and, in the same round, tries again up to ``backlog`` times, each try
scheduling another retry (221,051 tracebacks in 40 s were seen). ``Listener`` ends the round at
the first failure (asyncio then pauses accepting for a second, as it means to), and
``AcceptErrors`` logs it as one line, at most once a second.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import socket
import time

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from cart_cli.wire.names import Err

# A request line and headers must arrive within this many seconds of the connection opening (or
# of a request's first byte). Real clients send their head in one go, in well under a second.
HEAD_TIMEOUT = 5.0
# Request line plus headers, in bytes. Our clients send about 1 KiB; common servers allow 8-64 KiB.
MAX_HEAD = 64 * 1024
# Errors of accept() that mean "out of resources" (asyncio's list).
RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})

log = logging.getLogger("uvicorn.error")


class Every:
    """True at most once per ``seconds`` (for log lines that an attack could repeat)."""

    def __init__(self, seconds: float = 1.0) -> None:
        self.seconds, self.last = seconds, float("-inf")

    def __call__(self) -> bool:
        now = time.monotonic()
        if now - self.last < self.seconds:
            return False
        self.last = now
        return True


def json_error_bytes(status: int, name: str, description: str) -> bytes:
    """A whole HTTP/1.1 answer in the contract's error shape, closing the connection."""
    body = json.dumps({"code": status, "error": name, "description": description}).encode()
    head = (
        b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
        % len(body)
    )
    return STATUS_LINE[status] + head + body


def busy_app(limit: int):
    """The ASGI app that answers past the concurrency limit: 503, at once, in JSON."""
    payload = json_error_bytes(
        503,
        Err.STORE_UNAVAILABLE,
        f"The sandbox is busy ({limit} requests in progress); try again",
    )
    body = payload.split(b"\r\n\r\n", 1)[1]

    async def app(scope, receive, send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


_BUSY_LOG = Every()


class GuardedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size cap on the request head, JSON
    answers for what is refused below the app, and the concurrency limit answered in JSON."""

    def __init__(self, config, server_state, app_state, _loop=None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        # uvicorn's own check answers in plain text, logs a line per refusal and counts idle
        # connections; ours (on_headers_complete) answers in JSON, logs at most once a second
        # and counts requests in progress.
        self._limit, self.limit_concurrency = self.limit_concurrency, None
        self._busy = busy_app(self._limit) if self._limit else None
        self._head_timer: asyncio.TimerHandle | None = None
        self._awaiting_head = True  # no request head begun, or one begun and not complete
        self._head_bytes = 0

    # ---- the head's deadline -------------------------------------------------------------
    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(HEAD_TIMEOUT, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._head_bytes:  # a request was begun: say why it is cut off
            self._refuse(408, f"The request head did not arrive within {HEAD_TIMEOUT:g} s")
        else:
            self.transport.close()

    def _refuse(self, status: int, description: str) -> None:
        self._disarm_head_timer()
        if not self.transport.is_closing():
            self.transport.write(json_error_bytes(status, Err.INVALID_INPUT, description))
            self.transport.close()

    # ---- uvicorn's protocol, wrapped -----------------------------------------------------
    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        idle = self.cycle is None or self.cycle.response_complete
        if self._awaiting_head:
            self._head_bytes += len(data)
            if idle:  # bytes of a next request on a kept-alive connection: its head's deadline
                self._arm_head_timer()
        super().data_received(data)
        if self._awaiting_head and self._head_bytes > MAX_HEAD and self.parser is not None:
            self._refuse(431, f"The request line and headers exceed {MAX_HEAD} bytes")

    def send_400_response(self, msg: str) -> None:  # malformed HTTP (uvicorn logs a line)
        self._refuse(400, "The request is not valid HTTP/1.1")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._disarm_head_timer()
        self._awaiting_head, self._head_bytes = False, 0
        limit = self._limit
        # Requests in progress only: uvicorn also counts open connections, so connections that
        # sit idle or never finish a request (closed by the head deadline) would turn every
        # legitimate request away with a 503, which is what a slowloris attack wants.
        if limit is not None and len(self.tasks) >= limit:
            if _BUSY_LOG():
                log.warning("sandbox busy: %d requests in progress; answering 503", limit)
            real, self.app = self.app, self._busy
            try:
                super().on_headers_complete()
            finally:
                self.app = real
        else:
            super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_head, self._head_bytes = True, 0

    def on_response_complete(self) -> None:
        if self.cycle is not None and self.cycle.more_body and not self.transport.is_closing():
            # Answered before the request body was all here: the rest is not worth reading.
            self.transport.close()
        super().on_response_complete()


class Listener(socket.socket):
    """The listening socket. After an ``accept()`` that fails for lack of resources, further
    calls in the same round say "nothing to accept": asyncio then stops the round and retries
    a second later, instead of failing (and logging, and scheduling a retry) up to ``backlog``
    times in a row."""

    _failed_at = float("-inf")

    def accept(self):
        if time.monotonic() - self._failed_at < 0.1:
            raise BlockingIOError(errno.EAGAIN, "accept paused after running out of resources")
        try:
            return super().accept()
        except OSError as e:
            if e.errno in RESOURCE_ERRNOS:
                self._failed_at = time.monotonic()
            raise


class AcceptErrors:
    """An event loop exception handler: a failed ``accept()`` for lack of resources is one log
    line (no traceback), at most once a second; anything else goes to the default handler,
    unless ``quiet`` (an embedded sandbox says nothing: when its run is interrupted, asyncio's
    shutdown can report the cancelled order work, "Task was destroyed but it is pending")."""

    def __init__(self, quiet: bool = False) -> None:
        self.every = Every()
        self.quiet = quiet

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in RESOURCE_ERRNOS:
            if self.every():
                log.warning(
                    "sandbox cannot accept connections: %s; retrying every second "
                    "(incomplete requests are closed after %g s)",
                    os.strerror(exc.errno),
                    HEAD_TIMEOUT,
                )
            return
        if not self.quiet:
            loop.default_exception_handler(context)


DEFAULT_LIMIT = 256


def default_limit_concurrency() -> int:
    """Requests in progress before new ones get a 503: 256 (four batches at cart-cli's highest
    --concurrency; each may hold a body of up to 1 MiB, so this also bounds that memory), or
    fewer when the process may open fewer files (64 kept for everything else)."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return DEFAULT_LIMIT
    if soft == resource.RLIM_INFINITY:
        return DEFAULT_LIMIT
    return max(16, min(DEFAULT_LIMIT, soft - 64))
