"""Running the sandbox: embedded in a background thread (tests, ``place --sandbox``) or in the
foreground (``cart-cli sandbox``). uvicorn serves; we only hand it a bound socket."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BACKLOG = 2048  # uvicorn's default: connections the kernel holds until they are accepted
KEEP_ALIVE = 5  # seconds a kept-alive connection may sit idle between requests (uvicorn's default)


@dataclass
class SandboxConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port
    latency: float = 0.0
    catalog: str | Path | None = None
    token_ttl: int = 3600
    fault: str | None = None
    log: Callable[[str], None] | None = None
    app_ids: frozenset[str] | None = None  # None: any non-empty app id
    ssl_certfile: str | None = None  # serve https with this certificate chain (PEM)
    ssl_keyfile: str | None = None
    # Seconds since the epoch: token times, card expiry, order times. cart-cli gives it the run's
    # clock (CART_CLI_NOW moves it); tests move it instead of sleeping.
    clock: Callable[[], float] = time.time
    keep_orders: int = 10_000  # orders kept for the listing; the oldest are dropped
    # Say nothing of uvicorn's errors for the sandbox's whole life, not only while it stops:
    # for a throwaway sandbox inside a cart-cli run (--sandbox), a request cut off by the run's
    # own end (Ctrl-C, SIGTERM) may be logged as a traceback before stop() begins.
    quiet: bool = False
    cors: tuple[str, ...] = ()  # browser origins allowed besides loopback ones ("*": any)
    # Requests in progress past which a request is answered 503 at once; None: 256, or fewer if
    # the process may open fewer files (protocol.py).
    limit_concurrency: int | None = None


class Sandbox:
    def __init__(self, config: SandboxConfig | None = None, **overrides) -> None:
        import uvicorn

        from cart_cli.sandbox.app import create_app
        from cart_cli.sandbox.catalog import load_catalog
        from cart_cli.sandbox.faults import parse_fault
        from cart_cli.sandbox.protocol import GuardedHttpTools, Listener, default_limit_concurrency
        from cart_cli.sandbox.state import State

        self.config = config or SandboxConfig(**overrides)
        c = self.config
        self.state = State(
            load_catalog(c.catalog),
            token_ttl=c.token_ttl,
            app_ids=c.app_ids,
            clock=c.clock,
            keep_orders=c.keep_orders,
        )
        self._work: set = set()  # place-order work still going on (its client may have gone)
        app = create_app(
            state=self.state,
            latency=c.latency,
            fault=parse_fault(c.fault),
            log=c.log,
            running=self._work,
            cors=tuple(c.cors),
        )
        self._server = uvicorn.Server(
            uvicorn.Config(
                app,
                # uvicorn's httptools protocol (a C parser: less CPU per request than pure-Python
                # h11) with a deadline and a size cap on request heads (protocol.py).
                http=GuardedHttpTools,
                loop="asyncio",  # not uvloop even if installed: the accept guard needs asyncio's
                ws="none",  # no websocket routes: spares looking for websockets and wsproto
                # Past this many requests in progress, a request is answered 503 at once instead
                # of queueing (uvicorn's setting; protocol.py answers it in JSON and does not
                # count idle connections).
                limit_concurrency=c.limit_concurrency or default_limit_concurrency(),
                # A kept-alive connection with no new request for this long is closed (uvicorn).
                timeout_keep_alive=KEEP_ALIVE,
                # Connections the kernel queues before they are accepted (uvicorn listens with it).
                backlog=BACKLOG,
                lifespan="off",
                log_config=None,
                log_level="warning",
                access_log=False,
                timeout_graceful_shutdown=1,
                ssl_certfile=c.ssl_certfile,
                ssl_keyfile=c.ssl_keyfile,
            )
        )
        family = socket.AF_INET6 if ":" in c.host else socket.AF_INET
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only when the
        # protocol says TCP. Without it, Nagle's algorithm meets the client's delayed ACK and
        # every answer on a reused connection waits ~40 ms.
        # Listener: a failed accept() for lack of file descriptors ends asyncio's accept round.
        self._sock = Listener(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((c.host, c.port))
        self._sock.listen(BACKLOG)
        self.port = self._sock.getsockname()[1]
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None

    @property
    def url(self) -> str:
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        scheme = "https" if self.config.ssl_certfile else "http"
        return f"{scheme}://{host}:{self.port}"

    async def _serve(self) -> None:
        from cart_cli.sandbox.protocol import AcceptErrors

        self._loop, self._task = asyncio.get_running_loop(), asyncio.current_task()
        # Out of file descriptors: one log line a second, not a traceback per accept().
        self._loop.set_exception_handler(AcceptErrors(quiet=self.config.quiet))
        await self._server.serve(sockets=[self._sock])

    def serve_forever(self) -> None:
        """Run in the foreground until Ctrl-C (uvicorn handles the signal and shuts down)."""
        asyncio.run(self._serve())

    def _run(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            asyncio.run(self._serve())

    def start(self) -> str:
        if self.config.quiet:
            logging.getLogger("uvicorn.error").addFilter(_QUIET)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the embedded sandbox did not start")
            time.sleep(0.002)
        return self.url

    def stop(self, graceful: bool = False) -> None:
        """Stop serving. By default at once: work in flight is cancelled and open connections
        are dropped (uvicorn's graceful stop polls every 0.1 s and then waits 0.1 s more).
        ``graceful=True`` lets uvicorn finish its answers first (up to a second)."""
        # Requests still open now (say, orders a batch abandoned) are cancelled: uvicorn and
        # starlette would log a traceback for each. They are not news; say nothing.
        quiet = _Silence()
        logger = logging.getLogger("uvicorn.error")
        logger.addFilter(quiet)
        try:
            self._server.should_exit = True
            loop, task = self._loop, self._task
            if not graceful and loop is not None and task is not None:
                with contextlib.suppress(RuntimeError):  # the loop already closed
                    loop.call_soon_threadsafe(task.cancel)
            if self._thread is not None:
                self._thread.join(timeout=10)
        finally:
            logger.removeFilter(quiet)
            logger.removeFilter(_QUIET)
        self._sock.close()

    def reset(self) -> None:
        self.state.reset()

    def busy(self) -> int:
        """Requests being served and orders being worked on right now (e.g. a stalled
        place-order whose client gave up)."""
        state = getattr(self._server, "server_state", None)
        return len(self._work) + (len(state.tasks) if state is not None else 0)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no request is being served; False if some still are after ``timeout``."""
        deadline = time.monotonic() + timeout
        while self.busy():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def orders(self) -> list[dict]:
        return [o.record() for o in self.state.orders]

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class _Silence(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


_QUIET = _Silence()  # the filter of quiet sandboxes
