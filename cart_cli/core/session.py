"""The device session and its token (docs/api.md, "Sessions and renewal"): a new session, a
renewal that keeps the device, the token cache, and one renewal after a 401. A mixin of the
Client, whose ``_send``/``_read_json``/``_error`` it uses for its two calls."""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass

from cart_cli.core.errors import CartError, NetworkError, ServerError
from cart_cli.core.tokencache import usable_token
from cart_cli.core.urls import host_port
from cart_cli.wire import names

log = logging.getLogger("cart_cli.http")

RENEW_BEFORE = 120  # seconds of validity left below which the token is renewed

MAX_LIFETIME = 366 * 86400.0  # a longer expires_in is read as a year


def _seconds(value: object) -> bool:
    """A finite JSON number (not a boolean)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) < 1e15


@dataclass
class Session:
    access_token: str
    expires: float
    device_id: str | None = None
    obtained: float | None = None  # when it was issued, if known

    def fresh(self, now: float) -> bool:
        """Renew when under two minutes remain (or half the lifetime, for short-lived tokens)."""
        window = RENEW_BEFORE
        if self.obtained is not None:
            window = min(window, (self.expires - self.obtained) / 2)
        return self.expires - now > window


class SessionCalls:
    """The session half of the Client: ``token()`` and what it takes."""

    def _browser_session(self, renew: str | None = None) -> Session:
        body = {"access_token": renew} if renew else None
        resp, rid = self._send("POST", self.session_url, body=body, app_id=True)
        if resp.status_code != 200:
            raise self._error(resp, rid, "browser session")
        if not renew:
            self.new_sessions += 1
        data, body = self._read_json(resp, rid)
        if not (isinstance(data, dict) and isinstance(data.get("access_token"), str)):
            raise ServerError(
                f"{host_port(self.session_url)} answered the session request with "
                f"{body}, not a Simple Cart API session",
                hint="Check --api-url: it must be the API's base URL, not a web page.",
                request_id=rid,
            )
        if not usable_token(data["access_token"]):
            raise ServerError(
                f"{host_port(self.session_url)} answered the session request with an "
                "access_token that cannot be sent back (empty, too long, or not printable "
                "ASCII); nothing was ordered",
                request_id=rid,
            )
        now = self.clock()
        # The token's lifetime as measured by this client's clock: from expires_in when given
        # (proof against a server clock that differs, or a run's fixed clock), else expires.
        expires = data.get("expires")
        lifetime = data.get("expires_in")
        if _seconds(lifetime) and lifetime > 0:
            expires = now + min(float(lifetime), MAX_LIFETIME)
        elif not _seconds(expires):
            expires = now + 3600.0
        device = data.get("device_id")
        device = device if isinstance(device, str) else None
        session = Session(data["access_token"], float(expires), device, now)
        if self.token_cache:
            self.token_cache.save(
                self.endpoints.api_url,
                self.endpoints.app_id,
                {**data, "expires": expires, "obtained": now},
            )
        return session

    def _renew_or_new(self, old: str | None) -> Session:
        """Renew ``old`` (same device); if the server refuses the renewal for any reason but a
        bad app id (TokenExpired, some other Token... name, a 5xx), forget the token, memory and
        cache, and start a new session, once. A renewal that got no answer at all (network) is
        not a refusal: the token is kept for next time (docs/api.md, "Sessions and renewal")."""
        if old:
            try:
                return self._browser_session(renew=old)
            except NetworkError:
                raise
            except CartError as e:
                if e.code == names.Err.INVALID_APP_ID:
                    raise
                log.debug("renewal refused (%s); starting a new session", e.code)
                self._session = None
                if self.token_cache:
                    self.token_cache.drop(self.endpoints.api_url, self.endpoints.app_id)
        return self._browser_session()

    def token(self) -> str:
        """A valid device token: from memory, else the cache, else a new session; renewed (same
        device) when under two minutes, or half its lifetime, remain.

        Callers that waited while another thread's session call failed to reach the server get
        that failure, not a retry each (a batch of 16 against a dead target would otherwise
        take 16 rounds of connection retries, one after the other)."""
        asked = time.monotonic()
        with self._lock:
            failed = self._session_failed
            if failed is not None and failed[0] >= asked:
                raise copy.copy(failed[1])
            try:
                return self._token()
            except NetworkError as e:
                self._session_failed = (time.monotonic(), e)
                raise

    def _token(self) -> str:
        """token(), under the lock."""
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
        elif not s.fresh(self.clock()):
            s = self._renew_or_new(s.access_token)
        self._session = s
        return s.access_token

    def _refresh_after_401(self, rejected: str) -> str:
        with self._lock:
            if self._session and self._session.access_token != rejected:
                return self._session.access_token  # another thread already renewed
            self._session = self._renew_or_new(rejected)
            return self._session.access_token
