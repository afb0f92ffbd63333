"""The sandbox: a stateful local implementation of the Simple Cart API contract.

Embedded use::

    from cart_cli.sandbox import Sandbox
    with Sandbox() as sb:
        print(sb.url)
"""

from cart_cli.sandbox.server import Sandbox, SandboxConfig

__all__ = ["Sandbox", "SandboxConfig"]
