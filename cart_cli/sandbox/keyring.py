"""The card key: an RSA pair made in the background, published as JWK/PEM, and the decryption
and checking of the encrypted card (docs/api.md, "The encrypted card")."""

from __future__ import annotations

import base64
import contextlib
import secrets
import threading
from dataclasses import dataclass

from cart_cli.sandbox.errors import SandboxError
from cart_cli.sandbox.untrusted import NotJSON, b64url_json, check_compact, parse_json
from cart_cli.wire import cards, names
from cart_cli.wire.names import Err


def _b64url_uint(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class _Key:
    private_key: object
    kid: str
    jwk: dict
    pem: str
    rsa_pem: str


def _new_key() -> _Key:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub = key.public_key()
    numbers = pub.public_numbers()
    kid = "sbx-" + secrets.token_hex(8)
    return _Key(
        private_key=key,
        kid=kid,
        # Exactly the members Firmly documents (kid, kty, n, e, use): no "alg", which WebCrypto
        # refuses when it differs from the algorithm the key is imported for (Firmly's v4
        # drop-in imports it as RSA-OAEP with SHA-1, then again through jose as RSA-OAEP-256).
        jwk={
            "kid": kid,
            "kty": "RSA",
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
            "use": "enc",
        },
        pem=pub.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode(),
        rsa_pem=pub.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
        ).decode(),
    )


class KeyRing:
    """The RSA key pair for card encryption. Parsed once; rotation replaces it.

    The key is generated in a background thread (OpenSSL releases the GIL), so a sandbox
    starts serving while it is made; the first use of the key waits for it."""

    def __init__(self) -> None:
        self.rotate()

    def rotate(self) -> None:
        box: list[_Key] = []

        def make() -> None:
            # A failure (say, out of file descriptors) is not a thread's traceback on stderr:
            # _current() makes the key again, and raises there, in a request.
            with contextlib.suppress(Exception):
                box.append(_new_key())

        # Not a daemon: an interpreter that exits while OpenSSL is making the key would kill
        # the thread inside C code ('FATAL: exception not rethrown', exit 134); exit waits for
        # the key instead (a fraction of a second).
        thread = threading.Thread(target=make, daemon=False)
        thread.start()
        self._pending = (thread, box)

    def _current(self) -> _Key:
        pending = self._pending
        if pending is not None:
            thread, box = pending
            thread.join()
            if not box:  # the thread failed: make the key here, so the error is raised here
                box.append(_new_key())
            self._key = box[0]
            if self._pending is pending:
                self._pending = None
        return self._key

    @property
    def private_key(self):
        return self._current().private_key

    @property
    def kid(self) -> str:
        return self._current().kid

    @property
    def jwk(self) -> dict:
        return self._current().jwk

    @property
    def pem(self) -> str:
        return self._current().pem

    @property
    def rsa_pem(self) -> str:
        return self._current().rsa_pem

    def decrypt_card(self, token: object) -> dict:
        """The card payload (docs/api.md, "The encrypted card"), checked and normalized to
        number, name (maybe absent), verification_value, month, year. As lenient as Firmly's own
        browser code needs: no ``kid`` means the current key; exp_month/exp_year stand for
        month/year; no name. Errors name the problem, never a value."""
        from jose import jwe
        from jose.exceptions import JOSEError

        if not isinstance(token, str) or token.count(".") != 4:
            raise SandboxError(Err.INVALID_INPUT, "encrypted_card is not a compact JWE (5 parts)")
        # The header is read here, not by jose: a deep or odd one must be a 400, not a crash.
        if not check_compact(token, 5, "encrypted_card's header"):
            raise SandboxError(Err.INVALID_INPUT, "encrypted_card has a malformed header")
        header = b64url_json(token.split(".", 1)[0], "encrypted_card's header")
        if header.get("alg") != names.JWE_ALG or header.get("enc") != names.JWE_ENC:
            raise SandboxError(
                Err.INVALID_INPUT,
                f"encrypted_card must use alg {names.JWE_ALG} and enc {names.JWE_ENC}",
            )
        if "zip" in header:
            raise SandboxError(Err.INVALID_INPUT, "encrypted_card must not be compressed (zip)")
        key = self._current()
        if header.get("kid", key.kid) != key.kid:
            raise SandboxError(
                Err.INVALID_INPUT,
                "encrypted_card was made with an unknown key (kid); fetch the key",
            )
        try:
            plain = jwe.decrypt(token, key.private_key)
        except (JOSEError, ValueError, TypeError):  # jose lets some malformed parts through
            plain = None
        if not plain:
            raise SandboxError(Err.INVALID_INPUT, "encrypted_card could not be decrypted")
        try:
            card = parse_json(plain, "encrypted_card payload")
        except NotJSON:
            card = None  # check_payload says it: not a JSON object
        finally:
            del plain
        try:
            return cards.check_payload(card)
        except ValueError as e:
            raise SandboxError(Err.INVALID_INPUT, str(e)) from None
