"""pytest fixtures for code that places orders against the cart-cli sandbox.

``cart_sandbox`` is a running sandbox (one per test session, reset before each test);
``cart_sandbox.url`` is its base URL for both the api and the payment role."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def cart_sandbox_server():
    from cart_cli.sandbox import Sandbox

    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def cart_sandbox(cart_sandbox_server):
    cart_sandbox_server.reset()
    yield cart_sandbox_server
    cart_sandbox_server.reset()
