"""Access tokens: issued, renewed and verified (HS256 JWTs signed with a secret made at start).
Verified tokens are cached (bounded) so that each call does not check the signature again."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable

from cart_cli.sandbox.errors import SandboxError, token_expired
from cart_cli.sandbox.untrusted import check_compact
from cart_cli.wire.names import Err

RENEW_WINDOW = 7 * 24 * 3600
VERIFIED_TOKENS = 10_000  # bound on the verified-token -> device cache


class Tokens:
    def __init__(self, ttl: int, clock: Callable[[], float]) -> None:
        self.ttl = ttl
        self.clock = clock  # seconds since the epoch; tests move it instead of sleeping
        self.secret = secrets.token_bytes(32)
        self.verified: dict[str, tuple[str, int]] = {}  # token -> (device, exp), all checked

    def forget(self) -> None:
        """Drop the verified-token cache (a reset); the tokens stay valid."""
        old, self.verified = self.verified, {}
        old.clear()

    def issue(self, device_id: str | None = None) -> dict:
        from jose import jwt

        now = int(self.clock())
        device_created = device_id is None
        device_id = device_id or str(uuid.uuid4())
        exp = now + self.ttl
        claims = {"device_id": device_id, "iat": now, "exp": exp, "jti": secrets.token_hex(8)}
        token = jwt.encode(claims, self.secret, algorithm="HS256")
        return {
            "device_created": device_created,
            "access_token": token,
            "expires_in": self.ttl,
            "expires": exp,
            "device_id": device_id,
            # Firmly's v5 services read it (lib/utils/session-manager.js, getBrowserId); one per
            # device, so a renewal keeps it.
            "browser_id": "B" + uuid.uuid5(uuid.NAMESPACE_URL, device_id).hex[:20],
        }

    def renew(self, old: object) -> dict:
        from jose import jwt
        from jose.exceptions import JOSEError

        try:
            if not check_compact(str(old), 3, "access_token"):
                raise JOSEError("malformed")
            claims = jwt.decode(
                str(old), self.secret, algorithms=["HS256"], options={"verify_exp": False}
            )
        except JOSEError:
            raise SandboxError(
                Err.INVALID_TOKEN, "The token to renew is invalid", use_message=True
            ) from None
        if int(claims.get("exp", 0)) < self.clock() - RENEW_WINDOW:
            raise token_expired()
        return self.issue(claims["device_id"])

    def device_of(self, header: str | None) -> str:
        from jose import jwt
        from jose.exceptions import JOSEError

        if not header:
            raise SandboxError(Err.MISSING_AUTH, "The x-firmly-authorization header is missing")
        token = header[7:] if header.lower().startswith("bearer ") else header
        known = self.verified.get(token)
        if known is None:
            if not check_compact(token, 3, "the access token"):
                raise SandboxError(Err.INVALID_TOKEN, "The access token is malformed")
            try:
                claims = jwt.decode(
                    token, self.secret, algorithms=["HS256"], options={"verify_exp": False}
                )
            except JOSEError:
                try:
                    jwt.get_unverified_claims(token)
                except JOSEError:
                    raise SandboxError(Err.INVALID_TOKEN, "The access token is malformed") from None
                raise SandboxError(
                    Err.UNAUTHORIZED, "The access token was not issued by this server"
                ) from None
            if not isinstance(claims.get("exp"), int):
                raise SandboxError(Err.INVALID_TOKEN, "The access token has expired")
            if not isinstance(claims.get("device_id"), str):
                raise SandboxError(Err.INVALID_TOKEN, "The access token has no device")
            if len(self.verified) >= VERIFIED_TOKENS:
                self.verified.clear()
            known = self.verified[token] = (claims["device_id"], claims["exp"])
        device, exp = known
        if exp < self.clock():  # checked on every use: a cached token expires all the same
            raise SandboxError(Err.INVALID_TOKEN, "The access token has expired")
        return device
