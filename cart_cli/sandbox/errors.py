"""The sandbox's API errors: an exception that is an error answer of the contract's table."""

from __future__ import annotations

from cart_cli.wire.errors import spec
from cart_cli.wire.names import Err


class SandboxError(Exception):
    """An API error answer: name, description, and the status of the contract's table."""

    def __init__(
        self, name: str, description: str, *, use_message: bool = False, close: bool = False
    ):
        super().__init__(description)
        self.close = close  # answer with `connection: close` (the request was not read whole)
        self.name = name
        self.description = description
        self.status = spec(name).status
        self.use_message = use_message  # browser-session errors say `message`

    def body(self) -> dict:
        key = "message" if self.use_message else "description"
        return {"code": self.status, "error": self.name, key: self.description}


def token_expired() -> SandboxError:
    return SandboxError(
        Err.TOKEN_EXPIRED, "The token expired more than a week ago", use_message=True
    )
