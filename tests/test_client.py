"""The API client against the sandbox, below the CLI."""

from __future__ import annotations

from cart_cli.core.checkout import place_order
from cart_cli.core.client import Client, Endpoints
from cart_cli.core.order import load_order
from tests.helpers import inputs, write_order


def test_streams_are_read_to_the_end_so_connections_are_reused(cart_sandbox, tmp_path, caplog):
    """A half-read stream must never go back to the pool (it broke later requests at random);
    read to the end, its connection serves the next order: no new connection per order."""
    import logging

    order = load_order(write_order(tmp_path / "o.yaml"), inputs=inputs())
    client = Client(Endpoints(cart_sandbox.url, cart_sandbox.url, "t"))

    def new_connections() -> int:
        return sum("Starting new HTTP connection" in r.getMessage() for r in caplog.records)

    with caplog.at_level(logging.DEBUG, logger="urllib3.connectionpool"):
        first = place_order(order, client).order["platform_order_number"]
        after_one = new_connections()
        more = [place_order(order, client).order["platform_order_number"] for _ in range(3)]
    assert [first, *more] == ["000000001", "000000002", "000000003", "000000004"]
    assert after_one >= 1 and new_connections() == after_one
    client.close()


def test_failed_stream_outcome_survives_the_drain(cart_sandbox, tmp_path):
    from cart_cli.core.errors import ApiError

    order = load_order(write_order(tmp_path / "o.yaml", card="test:declined"), inputs=inputs())
    client = Client(Endpoints(cart_sandbox.url, cart_sandbox.url, "t"))
    for _ in range(2):
        try:
            place_order(order, client)
        except ApiError as e:
            assert e.code == "ErrorPaymentDeclined"
        else:
            raise AssertionError("a declined card was placed")


class StubClient:
    """Just enough of Client to drive checkout: the key rotates on every fetch."""

    def __init__(self, error):
        self.error, self.sent, self.keys = error, 0, 0

    def token(self):
        return "t"

    def public_key(self):
        from cart_cli.core.crypto import PublicKey
        from cart_cli.sandbox.keyring import KeyRing

        self.keys += 1
        ring = KeyRing()
        return PublicKey(ring.kid, ring.jwk)

    def place_order(self, domain, body, **kw):
        self.sent += 1
        if self.sent == 1:
            raise self.error
        return {"platform_order_number": "1"}, "rid"


def test_key_rotation_resends_only_when_refused_before_any_work(tmp_path):
    import pytest

    from cart_cli.core.errors import ApiError

    order = load_order(write_order(tmp_path / "o.yaml"), inputs=inputs())
    before = StubClient(ApiError("ErrorInvalidInputBody", "unknown kid", status=400))
    assert place_order(order, before).order == {"platform_order_number": "1"}
    assert before.sent == 2 and before.keys == 2
    during = StubClient(ApiError("ErrorInvalidInputBody", "bad", during_work=True))
    with pytest.raises(ApiError):
        place_order(order, during)
    assert during.sent == 1  # the server had begun: never sent again
    other = StubClient(ApiError("ErrorNotEnoughStock", "no", status=400))
    with pytest.raises(ApiError):
        place_order(order, other)
    assert other.sent == 1 and other.keys == 1


def test_a_new_device_while_the_cart_is_built_places_nothing(cart_sandbox, tmp_path):
    """The cart belongs to the device: if the session is replaced by a new one (a refused
    renewal starts a new device) after some items went into the old device's cart, completing
    the new device's cart would place a different order than asked. Nothing may be placed."""
    import pytest

    from cart_cli.core.errors import CartError
    from cart_cli.core.events import ItemAdded
    from tests.helpers import sandbox_orders

    items = [
        {"variant_id": "MH07-XS-Gray", "quantity": 1},
        {"variant_id": "24-WG085", "quantity": 1},
    ]
    order = load_order(write_order(tmp_path / "o.yaml", flow="cart", items=items), inputs=inputs())
    client = Client(Endpoints(cart_sandbox.url, cart_sandbox.url, "t"))

    def on_event(ev) -> None:
        if isinstance(ev, ItemAdded) and ev.index == 1:
            client._session = None  # as after a refused renewal: the next call starts a new device

    with pytest.raises(CartError) as caught:
        place_order(order, client, on_event=on_event)
    assert caught.value.outcome == "not_placed" and caught.value.code == "SessionReplaced"
    assert sandbox_orders(cart_sandbox) == []
    client.close()


def test_a_batchs_key_is_fetched_again_at_each_rotation_not_only_the_first(tmp_path):
    """The key rotates (docs/api.md): a long batch shares one KeyProvider, and after its first
    rotation every later one must still be followed, or every order after it is refused."""
    from cart_cli.core.checkout import KeyProvider
    from cart_cli.core.errors import ApiError

    class RotatingTwice(StubClient):
        def place_order(self, domain, body, **kw):
            self.sent += 1
            if self.sent in (1, 3):  # the key rotated before the first and the second order
                raise self.error
            return {"platform_order_number": str(self.sent)}, "rid"

    order = load_order(write_order(tmp_path / "o.yaml"), inputs=inputs())
    client = RotatingTwice(ApiError("ErrorInvalidInputBody", "unknown kid", status=400))
    keys = KeyProvider(client)
    assert place_order(order, client, keys=keys).order == {"platform_order_number": "2"}
    assert place_order(order, client, keys=keys).order == {"platform_order_number": "4"}
    assert client.sent == 4 and client.keys == 3
