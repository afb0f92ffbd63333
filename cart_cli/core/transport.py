"""The HTTP transport under the API client: one requests session, and the rules that hold
whatever the server does (issue 17; docs/api.md, "Timeouts", "Redirects", "Limits"):

- No redirect is ever followed: a 3xx comes back to the caller as an error, nothing resent.
- Answers are asked for ``Accept-Encoding: identity`` and an encoded one is refused unread, so
  a size limit is a limit on the bytes that arrive, with nothing to expand (no gzip bomb).
- Bodies are read as they arrive (``read1``: what is there, at most 64 KiB), the limit checked
  after every read.
- Every call has a total deadline: a watchdog thread shuts the call's socket down when it passes,
  so neither a server that drips a byte at a time nor an endless run of ``100 Continue`` can
  stretch a call past it. A stream's deadline is renewed by each event (not by comments).

Errors come out typed for the stage: NetworkError / ServerError before the order call,
OutcomeUnknown once an order call may have left."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from urllib.parse import urlsplit

from cart_cli.core.errors import CartError, NetworkError, OutcomeUnknown, ServerError
from cart_cli.core.urls import host_port
from cart_cli.wire import names

log = logging.getLogger("cart_cli.http")

MAX_BODY = 8 << 20  # a JSON answer
MAX_STREAM = 32 << 20  # a whole event stream
READ_SIZE = 65536

# 3xx answers to an order call after which the server surely did not act on the request: it
# says the resource is elsewhere and asks for the request to be made there (301 Moved
# Permanently, 307 Temporary Redirect, 308 Permanent Redirect). Any other 3xx (302, 303 "see
# other": the answer to a POST that was processed) may come after the order was placed.
REDIRECT_NOT_ACTED = frozenset({301, 307, 308})


# Headers whose value is a secret, by lowercase name: never logged, whoever set them (the client
# or a user's -H). The app id is not a secret.
SECRET_HEADERS = frozenset(
    {names.H_AUTH, "authorization", "proxy-authorization", "cookie", "set-cookie"}
)


def redact_headers(headers: dict) -> dict:
    """``headers`` for a debug log: a secret's value replaced by its length, whatever the name's
    case."""
    return {
        k: f"<{k} redacted, {len(str(v))} chars>" if k.lower() in SECRET_HEADERS else v
        for k, v in headers.items()
    }


def redact_body(body: object) -> object:
    if isinstance(body, dict):
        return {
            k: (
                f"<{k} redacted>"
                if k in ("encrypted_card", "access_token", "captcha_token")
                else redact_body(v)
            )
            for k, v in body.items()
        }
    if isinstance(body, list):
        return [redact_body(v) for v in body]
    return body


class DeadlinePassed(Exception):
    """Raised by a connection asked to send for a call whose deadline has passed. Not an
    OSError, so urllib3 does not retry it."""


class Call:
    """One request and the reading of its answer, with its deadline (monotonic seconds)."""

    __slots__ = ("cap", "conns", "done", "ends", "expired", "rid", "seconds")

    def __init__(self, rid: str, seconds: float, cap: float) -> None:
        now = time.monotonic()
        self.rid, self.seconds = rid, seconds
        self.cap = now + cap
        self.ends = min(now + seconds, self.cap)
        self.expired = self.done = False
        self.conns: list = []


class Watchdog:
    """Ends calls at their deadline by shutting their sockets down. One thread, started when a
    call is watched, gone after a few idle seconds."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list = []
        self._seq = itertools.count()
        self._calls: dict[str, Call] = {}
        self._thread: threading.Thread | None = None

    def start(self, rid: str, seconds: float, cap: float | None = None) -> Call:
        call = Call(rid, seconds, seconds if cap is None else cap)
        with self._cond:
            self._calls[rid] = call
            self._push(call)
        return call

    def renew(self, call: Call) -> None:
        """Progress: the call may last ``call.seconds`` more (never past its cap)."""
        with self._cond:
            ends = min(time.monotonic() + call.seconds, call.cap)
            if not call.expired and ends > call.ends:
                call.ends = ends
                self._push(call)

    def finish(self, call: Call) -> None:
        with self._cond:
            call.done = True
            call.conns.clear()
            if self._calls.get(call.rid) is call:
                del self._calls[call.rid]

    def attach(self, headers: Mapping[str, str] | None, conn) -> None:
        """A connection is about to send the request with these headers: it is the call's."""
        rid = _header(headers, names.H_REQUEST_ID)
        with self._cond:
            call = self._calls.get(rid) if rid else None
            conn._cart_call = call
            if call is None:
                return
            if call.expired:
                raise DeadlinePassed(rid)
            call.conns.append(conn)

    def _push(self, call: Call) -> None:
        heapq.heappush(self._heap, (call.ends, next(self._seq), call))
        if len(self._heap) > 64 + 2 * len(self._calls):
            # Entries of finished calls, and deadlines a renewal moved, wait in the heap until
            # their time comes (a batch renews a call about ten times an order): drop them now,
            # or a long batch keeps a --timeout's worth of them.
            self._heap = [
                e for e in self._heap if not (e[2].done or e[2].expired) and e[0] >= e[2].ends
            ]
            heapq.heapify(self._heap)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="cart-cli-deadlines")
            self._thread.daemon = True
            self._thread.start()
        self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    ends, _, call = heapq.heappop(self._heap)
                    if call.done or call.expired or call.ends > ends:
                        continue  # finished, or renewed (a later entry stands)
                    call.expired = True
                    for conn in call.conns:
                        if getattr(conn, "_cart_call", None) is call:
                            _shut(getattr(conn, "sock", None))
                if not self._heap:
                    self._cond.wait(5)
                    if not self._heap:
                        self._thread = None
                        return
                else:
                    self._cond.wait(self._heap[0][0] - now)


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    for k, v in (headers or {}).items():
        if k.lower() == name:
            return v
    return None


def _shut(sock) -> None:
    """Wake whoever is blocked on ``sock``: its reads end at once."""
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _pool_classes(watchdog: Watchdog) -> dict:
    """urllib3 pool classes whose connections tell the watchdog which call they carry."""
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    def watched(base):
        def request(self, method, url, body=None, headers=None, **kw):
            watchdog.attach(headers, self)
            return base.request(self, method, url, body=body, headers=headers, **kw)

        return type(base.__name__, (base,), {"request": request})

    return {
        "http": type("Pool", (HTTPConnectionPool,), {"ConnectionCls": watched(HTTPConnection)}),
        "https": type(
            "TLSPool", (HTTPSConnectionPool,), {"ConnectionCls": watched(HTTPSConnection)}
        ),
    }


def adapter(watchdog: Watchdog, **kw):
    """A requests HTTPAdapter whose connections are watched."""
    from requests.adapters import HTTPAdapter

    pools = _pool_classes(watchdog)

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *a, **k):
            super().init_poolmanager(*a, **k)
            self.poolmanager.pool_classes_by_scheme = pools

        def proxy_manager_for(self, proxy, **k):
            manager = super().proxy_manager_for(proxy, **k)
            if not proxy.lower().startswith("socks"):
                manager.pool_classes_by_scheme = pools
            return manager

    return Adapter(**kw)


class Answer:
    """A response being read, under its call's deadline. Close it (reading to the end closes it
    too): that ends the call."""

    def __init__(self, transport: Transport, resp, call: Call, placing: str | None) -> None:
        self.transport, self.resp, self.call, self.placing = transport, resp, call, placing
        self.rid = call.rid
        self.status_code = resp.status_code
        self.headers = resp.headers

    def close(self) -> None:
        try:
            self.resp.close()
        finally:
            self.transport.watchdog.finish(self.call)

    def renew(self) -> None:
        self.transport.watchdog.renew(self.call)

    def chunks(self, limit: int) -> Iterator[bytes]:
        """The body's bytes as they arrive; a CartError for the stage if it is larger than
        ``limit``, breaks off, or is not complete by the deadline."""
        from http.client import HTTPException

        from urllib3 import exceptions as u3

        total = 0
        try:
            while True:
                chunk = self.resp.raw.read1(READ_SIZE, decode_content=False)
                if self.call.expired:
                    raise self._late()
                if not chunk:
                    return
                total += len(chunk)
                if total > limit:
                    raise self._fail(
                        f"the answer is larger than the {limit:,}-byte limit", broke=False
                    )
                yield chunk
        except (HTTPException, u3.HTTPError, OSError, DeadlinePassed) as e:
            raise self._late() if self.call.expired else self._fail(reason(e)) from None

    def read(self, limit: int = MAX_BODY) -> bytes:
        try:
            return b"".join(self.chunks(limit))
        finally:
            self.close()

    def _late(self) -> CartError:
        what = self.placing or "the request"
        return self.transport.too_slow(what, self.call, self.rid, sent=bool(self.placing))

    def _fail(self, why: str, *, broke: bool = True) -> CartError:
        if self.placing:
            msg = f"the answer to {self.placing} broke off ({why})" if broke else why
            return OutcomeUnknown(msg, request_id=self.rid)
        if broke:
            return NetworkError(f"the answer broke off: {why}", request_id=self.rid)
        return ServerError(why, request_id=self.rid)


class Transport:
    """One requests session with the rules above. ``timeout``: (connect, read) per socket
    operation; ``total``: the deadline of a call; ``order_total``: that of an order call."""

    def __init__(
        self,
        *,
        timeout: tuple[float, float],
        total: float,
        order_total: float,
        verify,
        proxies: dict,
        pool_size: int,
        retried: tuple[str, ...] = (),
    ) -> None:
        import requests
        from urllib3.util.retry import Retry

        self.requests = requests
        self.timeout, self.total, self.order_total = timeout, total, order_total
        self.verify = verify
        self.watchdog = Watchdog()

        class Session(requests.Session):
            def resolve_redirects(self, *args, **kwargs):
                # Never: even with allow_redirects=False, requests prepares the next request
                # from the Location (and a malformed one raised ValueError).
                return iter(())

        self.http = Session()
        # requests reads the environment (proxies, no_proxy, CA bundle, ~/.netrc) on every
        # request when trust_env is on; the client hands its own in instead.
        self.http.trust_env = False
        self.http.proxies = proxies
        plain = adapter(self.watchdog, pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self.http.mount("http://", plain)
        self.http.mount("https://", plain)
        safe = adapter(
            self.watchdog,
            pool_connections=4,
            pool_maxsize=pool_size,
            max_retries=Retry(
                total=3,
                connect=3,
                read=2,
                status=2,
                other=0,  # e.g. a certificate failure: retrying cannot help
                redirect=0,
                backoff_factor=0.2,
                backoff_max=1.0,
                status_forcelist=(502, 503, 504),
                allowed_methods=None,
                raise_on_status=False,
                respect_retry_after_header=False,  # "Retry-After: 86400" would stall the run
            ),
        )
        for url in retried:
            self.http.mount(url, safe)

    def close(self) -> None:
        self.http.close()

    def send(
        self,
        method: str,
        url: str,
        *,
        rid: str,
        headers: dict,
        body=None,
        params=None,
        placing: str | None = None,
        long_read: float | None = None,
        stream: bool = False,
    ) -> Answer:
        """One HTTP exchange, its answer's headers read. ``placing``: the order call's name
        when this is one. ``long_read``: the read timeout of an order call that answers only
        when done. ``stream``: an event stream, whose deadline each event renews."""
        rq = self.requests
        headers = {**headers, "accept-encoding": "identity"}
        connect, read = self.timeout
        if placing:  # an order call: its longer deadline, a stream's renewed by each event
            call = self.watchdog.start(rid, read if stream else self.order_total, self.order_total)
        else:
            call = self.watchdog.start(rid, self.total)
        try:
            resp = self.http.request(
                method,
                url,
                headers=headers,
                json=body,
                params=params,
                timeout=(connect, long_read or read),
                stream=True,
                verify=self.verify,
                allow_redirects=False,  # never: see redirected()
            )
        except rq.exceptions.InvalidHeader as e:  # refused here, before anything left
            self.watchdog.finish(call)
            raise ServerError(
                f"not sent: a header was refused before sending ({_header_name(e)})",
                hint="A value the server gave (a token?) is not a valid header value.",
                request_id=rid,
            ) from None
        except (rq.exceptions.RequestException, DeadlinePassed, OSError) as e:
            self.watchdog.finish(call)
            raise self._failed(e, url, call, placing) from None
        except BaseException:
            self.watchdog.finish(call)
            raise
        answer = Answer(self, resp, call, placing)
        if call.expired:
            answer.close()
            raise answer._late()
        if 300 <= resp.status_code < 400:
            answer.close()
            raise redirected(resp, url, rid, placing)
        encoding = resp.headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity"):
            answer.close()
            msg = (
                f"answered with a {encoding[:20]!r}-encoded body, which was not asked for "
                "(Accept-Encoding: identity); it was not read"
            )
            if placing:
                raise OutcomeUnknown(f"{placing} {msg}", request_id=rid)
            raise ServerError(f"{host_port(url)} {msg}", request_id=rid)
        if stream:
            answer.renew()
        return answer

    def too_slow(self, what: str, call: Call, rid: str, *, sent: bool) -> CartError:
        if sent and call.ends < call.cap:  # a stream, between two events
            return OutcomeUnknown(
                f"{what} timed out: no event came within {call.seconds:g} s (comments and "
                "keep-alives do not count)",
                request_id=rid,
            )
        if sent:
            return OutcomeUnknown(
                f"{what} was sent but timed out: no complete answer within {call.total:g} s",
                request_id=rid,
            )
        return NetworkError(
            f"{what} timed out: no complete answer within {call.seconds:g} s (--timeout)",
            hint="The server answers too slowly, or not at all; check it, or raise --timeout.",
            request_id=rid,
        )

    def _failed(self, e: BaseException, url: str, call: Call, placing: str | None) -> CartError:
        rid = call.rid
        rq = self.requests
        if call.expired or isinstance(e, DeadlinePassed):
            return self.too_slow(placing or host_port(url), call, rid, sent=bool(placing))
        if isinstance(e, rq.exceptions.SSLError):
            if _not_tls(e):
                return _unreachable(
                    f"{host_port(url)} did not answer in TLS: it speaks plain http, or the port "
                    "is wrong",
                    hint="For a local sandbox use http://; otherwise check the URL's port.",
                    request_id=rid,
                )
            return _unreachable(
                f"TLS verification failed for {urlsplit(url).hostname}: {reason(e)}",
                hint="For a private CA, pass --ca-bundle FILE.",
                request_id=rid,
            )
        if isinstance(e, rq.exceptions.RequestException):
            unsent = never_sent(e)
            if placing and not unsent:
                return OutcomeUnknown(
                    f"{placing} was sent but no answer came back ({reason(e)})", request_id=rid
                )
            return (_unreachable if unsent else NetworkError)(
                f"cannot reach {host_port(url)}: {reason(e)}",
                hint="Check the URL, your network, or --timeout.",
                request_id=rid,
            )
        # e.g. an unreadable CA bundle: nothing was sent
        return NetworkError(f"cannot prepare a TLS connection: {e}", request_id=rid)


def _unreachable(message: str, **kw) -> NetworkError:
    """A failure to reach the target at all (refused, DNS, TLS, connect timeout): nothing was
    sent. The batch's dead-target rule counts these."""
    err = NetworkError(message, **kw)
    err.unreachable = True
    return err


def unreachable(exc: BaseException) -> bool:
    return isinstance(exc, NetworkError) and getattr(exc, "unreachable", False)


def _header_name(e: BaseException) -> str:
    text = str(e)
    return "a value with a line break" if "return character" in text else "an invalid value"


def redirected(resp, url: str, rid: str, placing: str | None) -> CartError:
    """The error for a 3xx answer. No redirect is ever followed: the token, the addresses and
    the encrypted card would go to whatever host the Location names (plain http included), and
    a redirected key request would let that host read the card. Nothing is resent."""
    try:
        host = printable(urlsplit(resp.headers.get("location") or "").hostname or "")
    except ValueError:  # e.g. an unclosed [ipv6
        host = "an unreadable location"
    host = host or "the same host"
    status = resp.status_code
    said = f"answered HTTP {status}, a redirect to {host}"
    if placing and status not in REDIRECT_NOT_ACTED:
        return OutcomeUnknown(
            f"{placing} {said}; it was not followed and nothing was sent further, but a "
            f"{status} can be the answer to an order that was processed",
            code="Redirected",
            request_id=rid,
        )
    what = placing or f"{host_port(url)}{urlsplit(url).path}"
    outcome = "; the order was not placed" if placing else ""
    return ServerError(
        f"{what} {said}; redirects are never followed, nothing was sent there{outcome}",
        code="Redirected",
        hint="Give the URL the server redirects to (--api-url, --payment-url) if you trust it.",
        request_id=rid,
    )


def printable(text: str) -> str:
    """``text`` with anything but printable ASCII shown as ``?`` (it came from the server)."""
    return "".join(c if " " < c < "\x7f" else "?" for c in text[:100])


def reason(exc: BaseException) -> str:
    """A short, secret-free reason for a transport exception."""
    from urllib3 import exceptions as u3

    seen = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, (u3.ReadTimeoutError,)) or type(e).__name__ == "ReadTimeout":
            return "timed out waiting for the server"
        if isinstance(e, u3.ConnectTimeoutError) and not isinstance(e, u3.NewConnectionError):
            return "timed out connecting"
        if isinstance(e, u3.NameResolutionError):
            return "host name not found"
        if isinstance(e, u3.NewConnectionError):
            return "connection refused or unreachable"
        if isinstance(e, u3.MaxRetryError) and e.reason is not None:
            e = e.reason
            continue
        if isinstance(e, u3.SSLError) or "SSL" in type(e).__name__:
            return "certificate verify failed" if "CERTIFICATE" in str(e).upper() else "TLS error"
        if isinstance(e, (u3.ProtocolError, u3.IncompleteRead, u3.InvalidChunkLength)):
            return "the answer broke off in the middle"
        nxt = e.args[0] if e.args and isinstance(e.args[0], BaseException) else e.__context__
        if nxt is None:
            break
        e = nxt
    text = str(exc)
    if "RemoteDisconnected" in text or "aborted" in text.lower():
        return "the connection was closed by the server"
    if "ChunkedEncoding" in type(exc).__name__ or "IncompleteRead" in text:
        return "the answer broke off in the middle"
    log.debug("transport error: %r", exc)
    return "the connection failed"


def _not_tls(exc: BaseException) -> bool:
    """An https request answered by something that does not speak TLS (plain http)."""
    text = str(exc).upper()
    return any(
        s in text
        for s in ("WRONG_VERSION_NUMBER", "RECORD LAYER FAILURE", "PACKET_LENGTH_TOO_LONG")
    )


def never_sent(exc: BaseException) -> bool:
    """True when the request surely did not leave: no connection was ever made."""
    import requests
    from urllib3 import exceptions as u3

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    e = exc.args[0] if exc.args else None
    if isinstance(e, u3.MaxRetryError):
        e = e.reason
    return isinstance(e, (u3.NewConnectionError, u3.ConnectTimeoutError, u3.NameResolutionError))
