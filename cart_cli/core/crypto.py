"""The encrypted card: a compact JWE (RSA-OAEP-256 + A256GCM) made with python-jose."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass

from cart_cli.wire import names


@dataclass(frozen=True)
class PublicKey:
    kid: str  # "" when the server gave none: the JWE then carries no kid
    jwk: dict


_B64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
MIN_BITS, MAX_BITS = 2048, 16384


def _b64_int(text: object) -> int | None:
    if not isinstance(text, str) or len(text) > MAX_BITS or not _B64URL.fullmatch(text):
        return None
    try:
        raw = base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except ValueError:
        return None
    return int.from_bytes(raw, "big") if raw else None


def jwk_problem(jwk: dict) -> str | None:
    """Why an RSA public JWK must not be used to encrypt a card, or None. An exponent of 1
    "encrypts" to the plaintext; a short modulus can be factored."""
    n, e = _b64_int(jwk.get("n")), _b64_int(jwk.get("e"))
    if n is None or e is None:
        return "n and e must be base64url text"
    if not MIN_BITS <= n.bit_length() <= MAX_BITS or n % 2 == 0:
        return f"the modulus is {n.bit_length()} bits (at least {MIN_BITS} expected)"
    if e < 3 or e % 2 == 0 or e >= n:
        return f"the exponent {e if e < 1 << 32 else 'given'} is not usable"
    return None


def encrypt_card(payload: dict, key: PublicKey) -> str:
    """JWE compact serialization of ``payload`` (docs/api.md, "The encrypted card"): a fresh
    content key and IV each call. A key the library cannot use is a ServerError (nothing was
    sent)."""
    from jose import jwe
    from jose.exceptions import JOSEError

    from cart_cli.core.errors import ServerError

    plaintext = json.dumps(payload, separators=(",", ":")).encode()
    try:
        token = jwe.encrypt(
            plaintext,
            key.jwk,
            encryption=names.JWE_ENC,
            algorithm=names.JWE_ALG,
            kid=key.kid or None,
        )
    except (JOSEError, ValueError, TypeError, ArithmeticError) as e:
        raise ServerError(
            f"the server's public key cannot be used to encrypt the card ({type(e).__name__}); "
            "nothing was sent",
        ) from None
    finally:
        del plaintext
    return token.decode() if isinstance(token, bytes) else token


def describe_jwe(token: str, kid: str) -> str:
    return f"JWE (kid {kid or 'none'}, {token.count('.') + 1} parts)"
