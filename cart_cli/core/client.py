"""The Simple Cart API client (requests). Knows the contract; knows nothing of terminals.

Safety rules it keeps:
- place-order is sent at most once per call, except after an auth answer given before any work
  (401 renew-and-retry) or when the server rejected the card's key before any work (see checkout);
- browser-session and the public key are retried on connection errors and 502/503/504;
- after the request may have left, a failure without an API error body is OutcomeUnknown."""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from cart_cli.core.crypto import PublicKey
from cart_cli.core.defaults import (
    CONNECT_TIMEOUT,
    DEFAULT_API_URL,
    DEFAULT_PAYMENT_URL,
    READ_TIMEOUT,
)
from cart_cli.core.errors import (
    ApiError,
    CartError,
    Exit,
    NetworkError,
    OutcomeUnknown,
    ServerError,
    UsageError,
)
from cart_cli.core.events import ErrorEvent, Event, Garbled, OrderPlaced, StreamTooLarge, decode
from cart_cli.core.events import limited as limit_stream
from cart_cli.core.tokencache import TokenCache
from cart_cli.wire import names

log = logging.getLogger("cart_cli.http")

MAX_BODY = 8 << 20
MAX_STREAM = 32 << 20
RENEW_BEFORE = 120  # seconds of validity left below which the token is renewed


@dataclass(frozen=True)
class Endpoints:
    api_url: str = DEFAULT_API_URL
    payment_url: str = DEFAULT_PAYMENT_URL
    app_id: str = ""

    def checked(self) -> Endpoints:
        api, pay = check_url(self.api_url, "api URL"), check_url(self.payment_url, "payment URL")
        if not self.app_id.strip():
            raise UsageError("no application id: pass --app-id or set CART_CLI_APP_ID")
        return Endpoints(api, pay, self.app_id.strip())


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, what: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{what} {url!r} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise UsageError(
            f"{what} {url!r} uses plain http; only loopback hosts may (use https)",
        )
    return url.strip().rstrip("/")


def redact_headers(headers: dict) -> dict:
    out = dict(headers)
    if names.H_AUTH in out:
        out[names.H_AUTH] = f"<token redacted, {len(out[names.H_AUTH])} chars>"
    return out


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


def _describe_body(resp, text: str) -> str:
    ctype = resp.headers.get("content-type", "")
    if not text.strip():
        return "an empty body"
    if "html" in ctype or text.lstrip().startswith("<"):
        return "an HTML page"
    return "a body that is not an API error"


@dataclass
class Session:
    access_token: str
    expires: float
    device_id: str | None = None
    obtained: float | None = None  # when it was issued, if known

    def fresh(self, now: float | None = None) -> bool:
        """Renew when under two minutes remain (or half the lifetime, for short-lived tokens)."""
        now = now or time.time()
        window = RENEW_BEFORE
        if self.obtained is not None:
            window = min(window, (self.expires - self.obtained) / 2)
        return self.expires - now > window


@dataclass
class Client:
    endpoints: Endpoints
    timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT)
    ca_bundle: str | None = None
    token_cache: TokenCache | None = None
    extra_headers: dict = field(default_factory=dict)
    pool_size: int = 10

    def __post_init__(self) -> None:
        import requests
        from requests.adapters import HTTPAdapter
        from urllib3.util.retry import Retry

        self.endpoints = self.endpoints.checked()
        if self.ca_bundle and not os.path.isfile(self.ca_bundle):
            raise UsageError(f"--ca-bundle {self.ca_bundle}: no such file")
        self._requests = requests
        self.http = requests.Session()
        # TLS is never off. Passed on each request: requests lets REQUESTS_CA_BUNDLE in the
        # environment override Session.verify, which would silently drop --ca-bundle.
        self.verify = self.ca_bundle or True
        plain = HTTPAdapter(pool_connections=4, pool_maxsize=self.pool_size, max_retries=0)
        self.http.mount("http://", plain)
        self.http.mount("https://", plain)
        safe = HTTPAdapter(
            pool_connections=4,
            pool_maxsize=self.pool_size,
            max_retries=Retry(
                total=3,
                connect=3,
                read=2,
                status=2,
                other=0,  # e.g. a certificate failure: retrying cannot help
                backoff_factor=0.2,
                status_forcelist=(502, 503, 504),
                allowed_methods=None,
                raise_on_status=False,
            ),
        )
        self.http.mount(self.session_url, safe)
        self.http.mount(self.key_url, safe)
        self._lock = threading.Lock()
        self._session: Session | None = None

    # ---- URLs ----------------------------------------------------------------------------
    @property
    def session_url(self) -> str:
        return f"{self.endpoints.api_url}/api/v1/browser-session"

    @property
    def key_url(self) -> str:
        return f"{self.endpoints.payment_url}/api/v1/payment/key"

    def order_url(self, domain: str) -> str:
        return f"{self.endpoints.payment_url}/api/v1/payment/domains/{quote(domain)}/place-order"

    def close(self) -> None:
        self.http.close()

    # ---- the wire ----------------------------------------------------------------------------
    def _send(
        self,
        method: str,
        url: str,
        *,
        token: str | None = None,
        body=None,
        params=None,
        app_id: bool = False,
        placing: bool = False,
    ):
        """One HTTP exchange. Returns (response, request id); response is streamed."""
        rq = self._requests
        rid = uuid.uuid4().hex
        headers = {names.H_REQUEST_ID: rid, **self.extra_headers}
        if token is not None:
            headers[names.H_AUTH] = token
        if app_id:
            headers[names.H_APP_ID] = self.endpoints.app_id
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "-> %s %s params=%s headers=%s body=%s",
                method,
                url,
                params,
                redact_headers(headers),
                json.dumps(redact_body(body)),
            )
        started = time.perf_counter()
        try:
            resp = self.http.request(
                method,
                url,
                headers=headers,
                json=body,
                params=params,
                timeout=self.timeout,
                stream=True,
                verify=self.verify,
            )
        except rq.exceptions.SSLError as e:
            raise NetworkError(
                f"TLS verification failed for {urlsplit(url).hostname}: {_reason(e)}",
                hint="For a private CA, pass --ca-bundle FILE.",
                request_id=rid,
            ) from None
        except rq.exceptions.RequestException as e:
            if placing and not _never_sent(e):
                raise OutcomeUnknown(
                    f"place-order was sent but no answer came back ({_reason(e)})",
                    request_id=rid,
                ) from None
            raise NetworkError(
                f"cannot reach {urlsplit(url).netloc}: {_reason(e)}",
                hint="Check the URL, your network, or --timeout.",
                request_id=rid,
            ) from None
        except OSError as e:  # e.g. an unreadable CA bundle: nothing was sent
            raise NetworkError(f"cannot prepare a TLS connection: {e}", request_id=rid) from None
        log.debug(
            "<- %s %s %s in %.0f ms [%s]",
            resp.status_code,
            method,
            urlsplit(url).path,
            (time.perf_counter() - started) * 1000,
            resp.headers.get("content-type"),
        )
        return resp, rid

    def _read_json(self, resp, rid: str, *, placing: bool = False):
        """(parsed JSON or None, raw text). Bounded in size."""
        rq = self._requests
        try:
            raw = b"".join(limit_stream(resp.iter_content(65536), MAX_BODY))
        except StreamTooLarge as e:
            raise (OutcomeUnknown if placing else ServerError)(str(e), request_id=rid) from None
        except rq.exceptions.RequestException as e:
            if placing:
                raise OutcomeUnknown(
                    f"the answer to place-order broke off ({_reason(e)})", request_id=rid
                ) from None
            raise NetworkError(f"the answer broke off: {_reason(e)}", request_id=rid) from None
        finally:
            resp.close()
        text = raw.decode("utf-8", "replace")
        try:
            return json.loads(text), text
        except ValueError:
            return None, text

    def _error(self, resp, rid: str, what: str, *, placing: bool = False) -> CartError:
        """The CartError for a non-200 answer."""
        data, text = self._read_json(resp, rid, placing=placing)
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            desc = data.get("description") or data.get("message") or ""
            return ApiError(data["error"], str(desc), status=resp.status_code, request_id=rid)
        body = _describe_body(resp, text)
        if placing and resp.status_code >= 500:
            return OutcomeUnknown(
                f"place-order got HTTP {resp.status_code} with {body} (no API error), "
                "so a gateway may already have passed the order on",
                request_id=rid,
            )
        return ServerError(
            f"{what} failed: HTTP {resp.status_code} with {body}",
            request_id=rid,
            hint="The server or a proxy in front of it failed; nothing was ordered.",
        )

    # ---- session -------------------------------------------------------------------------------
    def _browser_session(self, renew: str | None = None) -> Session:
        body = {"access_token": renew} if renew else None
        resp, rid = self._send("POST", self.session_url, body=body, app_id=True)
        if resp.status_code != 200:
            raise self._error(resp, rid, "browser session")
        data, _ = self._read_json(resp, rid)
        if not (isinstance(data, dict) and isinstance(data.get("access_token"), str)):
            raise ServerError("browser session answer has no access_token", request_id=rid)
        now = time.time()
        expires = data.get("expires")
        if not isinstance(expires, (int, float)):
            expires = now + float(data.get("expires_in") or 3600)
        session = Session(data["access_token"], float(expires), data.get("device_id"), now)
        if self.token_cache:
            self.token_cache.save(
                self.endpoints.api_url,
                self.endpoints.app_id,
                {**data, "expires": expires, "obtained": now},
            )
        return session

    def _renew_or_new(self, old: str | None) -> Session:
        if old:
            try:
                return self._browser_session(renew=old)
            except ApiError as e:
                if e.exit_code != Exit.AUTH or e.code == names.Err.INVALID_APP_ID:
                    raise
        return self._browser_session()

    def token(self) -> str:
        """A valid device token: from memory, else the cache, else a new session; renewed (same
        device) when under two minutes, or half its lifetime, remain."""
        with self._lock:
            s = self._session
            if s is None and self.token_cache:
                cached = self.token_cache.load(self.endpoints.api_url, self.endpoints.app_id)
                if cached:
                    s = Session(
                        cached["access_token"],
                        cached["expires"],
                        cached.get("device_id"),
                        cached.get("obtained"),
                    )
            if s is None:
                s = self._browser_session()
            elif not s.fresh():
                s = self._renew_or_new(s.access_token)
            self._session = s
            return s.access_token

    def _refresh_after_401(self, rejected: str) -> str:
        with self._lock:
            if self._session and self._session.access_token != rejected:
                return self._session.access_token  # another thread already renewed
            self._session = self._renew_or_new(rejected)
            return self._session.access_token

    def _authed(self, method: str, url: str, *, body=None, params=None, placing=False):
        """An authenticated request; a 401 auth error renews once and retries once."""
        token = self.token()
        resp, rid = self._send(method, url, token=token, body=body, params=params, placing=placing)
        if resp.status_code == 401:
            err = self._error(resp, rid, "request", placing=placing)
            if not (isinstance(err, ApiError) and err.code in names.AUTH_ERRORS):
                raise err
            log.debug("token refused (%s); renewing once", err.code)
            token = self._refresh_after_401(token)
            resp, rid = self._send(
                method, url, token=token, body=body, params=params, placing=placing
            )
            if resp.status_code == 401:
                err = self._error(resp, rid, "request", placing=placing)
                if isinstance(err, ApiError):
                    err.hint = "The token was refused even after renewal; check the app id."
                raise err
        return resp, rid

    # ---- public key ---------------------------------------------------------------------------
    def public_key(self) -> PublicKey:
        resp, rid = self._send("GET", self.key_url)
        if resp.status_code != 200:
            raise self._error(resp, rid, "fetching the public key")
        data, _ = self._read_json(resp, rid)
        if not (
            isinstance(data, dict) and data.get("kty") == "RSA" and data.get("n") and data.get("e")
        ):
            raise ServerError("the public key answer is not an RSA JWK", request_id=rid)
        kid = resp.headers.get(names.H_KID) or data.get("kid")
        if not kid:
            raise ServerError("the public key has no kid", request_id=rid)
        return PublicKey(kid=str(kid), jwk=data)

    # ---- place-order ---------------------------------------------------------------------------
    def place_order(
        self,
        domain: str,
        body: dict,
        *,
        sse: bool = True,
        on_event: Callable[[Event], None] = lambda e: None,
        total_items: int | None = None,
    ) -> tuple[dict, str]:
        """Send place-order once. Returns (order, request id) or raises a CartError."""
        params = {"sse": "true"} if sse else None
        resp, rid = self._authed(
            "POST", self.order_url(domain), body=body, params=params, placing=True
        )
        if resp.status_code != 200:
            raise self._error(resp, rid, "place-order", placing=True)
        if not resp.headers.get("content-type", "").startswith("text/event-stream"):
            data, text = self._read_json(resp, rid, placing=True)
            if isinstance(data, dict) and data.get("platform_order_number") is not None:
                on_event(OrderPlaced(data))
                return data, rid
            raise OutcomeUnknown(
                f"place-order answered 200 with {_describe_body(resp, text)}, not an order",
                request_id=rid,
            )
        return self._follow_stream(resp, rid, on_event, total_items), rid

    def _follow_stream(self, resp, rid, on_event, total_items) -> dict:
        """Follow the events to the end of the stream, which ends right after the terminal event
        (order-placed or error). Reading to the end hands a clean connection back to the pool;
        once the outcome is known, a failure while draining changes nothing."""
        rq = self._requests
        outcome: dict | CartError | None = None
        try:
            for ev in decode(limit_stream(resp.iter_content(None), MAX_STREAM), total_items):
                if outcome is not None:
                    continue  # after the terminal event: drain only
                outcome = _terminal(ev, rid)
                if not isinstance(outcome, CartError):
                    on_event(ev)
        except (rq.exceptions.RequestException, StreamTooLarge) as e:
            if outcome is None:
                raise OutcomeUnknown(
                    f"the event stream broke off ({_reason(e)})", request_id=rid
                ) from None
        finally:
            resp.close()
        if outcome is None:
            raise OutcomeUnknown(
                "the event stream ended before the order was confirmed", request_id=rid
            )
        if isinstance(outcome, CartError):
            raise outcome
        return outcome


def _terminal(ev: Event, rid: str) -> dict | CartError | None:
    """The outcome an event settles: the order, the error, or None for a progress event."""
    if isinstance(ev, OrderPlaced):
        return ev.order
    if isinstance(ev, ErrorEvent):
        name = str(ev.error.get("error") or "ErrorUnknown")
        desc = ev.error.get("description") or ev.error.get("message") or ""
        return ApiError(
            name, str(desc), status=ev.error.get("code"), request_id=rid, during_work=True
        )
    if isinstance(ev, Garbled) and ev.event == names.ORDER_PLACED:
        return OutcomeUnknown(
            "the server announced order-placed but its data could not be read", request_id=rid
        )
    if isinstance(ev, Garbled) and ev.event == names.ERROR:
        return ApiError(
            "ErrorUnknown",
            "the server reported an unreadable error",
            request_id=rid,
            during_work=True,
        )
    return None


def _reason(exc: BaseException) -> str:
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
        if isinstance(e, StreamTooLarge):
            return str(e)
        if isinstance(e, u3.MaxRetryError) and e.reason is not None:
            e = e.reason
            continue
        if isinstance(e, u3.SSLError) or "SSL" in type(e).__name__:
            return "certificate verify failed" if "CERTIFICATE" in str(e).upper() else "TLS error"
        nxt = e.args[0] if e.args and isinstance(e.args[0], BaseException) else e.__context__
        if nxt is None:
            break
        e = nxt
    text = str(exc)
    if "RemoteDisconnected" in text or "aborted" in text.lower():
        return "the connection was closed by the server"
    return type(exc).__name__


def _never_sent(exc: BaseException) -> bool:
    """True when the request surely did not leave: no connection was ever made."""
    import requests
    from urllib3 import exceptions as u3

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    e = exc.args[0] if exc.args else None
    if isinstance(e, u3.MaxRetryError):
        e = e.reason
    return isinstance(e, (u3.NewConnectionError, u3.ConnectTimeoutError, u3.NameResolutionError))
