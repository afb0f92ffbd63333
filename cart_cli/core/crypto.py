"""The encrypted card: a compact JWE (RSA-OAEP-256 + A256GCM) made with python-jose."""

from __future__ import annotations

import json
from dataclasses import dataclass

from cart_cli.wire import names


@dataclass(frozen=True)
class PublicKey:
    kid: str  # "" when the server gave none: the JWE then carries no kid
    jwk: dict


def encrypt_card(payload: dict, key: PublicKey) -> str:
    """JWE compact serialization of ``payload`` (docs/api.md, "The encrypted card"): a fresh
    content key and IV each call."""
    from jose import jwe

    plaintext = json.dumps(payload, separators=(",", ":")).encode()
    try:
        token = jwe.encrypt(
            plaintext,
            key.jwk,
            encryption=names.JWE_ENC,
            algorithm=names.JWE_ALG,
            kid=key.kid or None,
        )
    finally:
        del plaintext
    return token.decode() if isinstance(token, bytes) else token


def describe_jwe(token: str, kid: str) -> str:
    return f"JWE (kid {kid or 'none'}, {token.count('.') + 1} parts)"
