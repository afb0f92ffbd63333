"""pytest fixtures for code that places orders against the cart-cli sandbox.

``cart_sandbox`` is a running sandbox (one per test session, reset before each test);
``cart_sandbox.url`` is its base URL for both the api and the payment role."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def cart_sandbox_server():
    import os

    from cart_cli.sandbox import Sandbox
    from cart_cli.wire.clock import clock_from, epoch_clock

    # On the run's clock, as cart-cli's own sandboxes are: CART_CLI_NOW moves it.
    with Sandbox(clock=epoch_clock(clock_from(os.environ))) as sandbox:
        yield sandbox


@pytest.fixture
def cart_sandbox(cart_sandbox_server):
    """The shared sandbox, idle and reset for this test. A request this test started that is
    still being served at its end (it could place an order during the next test) fails it."""
    sandbox = cart_sandbox_server
    if not sandbox.wait_idle(30):
        pytest.fail("the cart sandbox is still serving a request from an earlier test")
    sandbox.reset()
    yield sandbox
    idle = sandbox.wait_idle(30)
    sandbox.reset()
    if not idle:
        pytest.fail("a request from this test was still being served 30 s after it ended")
