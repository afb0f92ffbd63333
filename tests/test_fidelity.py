"""Small fidelity points of the contract (docs/api.md): what the client sends and how long it
waits, a BOM before the stream, answers shaped as real ones are, the key rule in the cart flow."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from cart_cli.cli.ui.receipt import receipt
from cart_cli.core.checkout import place_order
from cart_cli.core.client import Client, Endpoints
from cart_cli.core.errors import ApiError, CartChanged, OutcomeUnknown
from cart_cli.core.events import OrderPlaced, decode
from cart_cli.core.order import load_order
from tests.helpers import GOOD_YEAR, inputs, make_env, write_order
from tests.test_client import StubClient


def recording(client: Client) -> list[dict]:
    calls: list[dict] = []
    real = client.http.request

    def request(method, url, **kw):
        calls.append({"method": method, "url": url, **kw})
        return real(method, url, **kw)

    client.http.request = request
    return calls


@pytest.mark.parametrize(
    ("flow", "sse", "accept", "read"),
    [
        ("place-order", True, "text/event-stream", 60.0),
        ("place-order", False, None, 180.0),
        ("cart", True, None, 180.0),
    ],
)
def test_accept_header_and_the_order_calls_read_timeout(
    cart_sandbox, tmp_path, flow, sse, accept, read
):
    order = load_order(write_order(tmp_path / "o.yaml"), inputs=inputs())
    client = Client(Endpoints(cart_sandbox.url, cart_sandbox.url, "t"))
    calls = recording(client)
    place_order(order, client, sse=sse, flow=flow)
    (sent,) = [c for c in calls if c["url"].endswith(("place-order", "complete-order"))]
    assert sent["headers"].get("accept") == accept
    assert sent["timeout"] == (10.0, read)
    others = [c for c in calls if c is not sent]
    assert others and all(c["timeout"] == (10.0, 60.0) for c in others)


def test_timeout_flag_bounds_the_order_call_too(cart_sandbox, tmp_path):
    from cart_cli.cli.target import Target

    t = Target(cart_sandbox.url, cart_sandbox.url, "t", timeout=2.5)
    with t.open_client(make_env()) as client:
        assert client.timeout == (2.5, 2.5) and client.order_read_timeout == 2.5


@pytest.mark.parametrize("split", [0, 1, 2, 3, 10])
def test_a_bom_before_the_stream_is_stripped_wherever_the_chunks_split(split):
    raw = '\ufeffevent: order-placed\ndata: {"platform_order_number": "7"}\n\n'.encode()
    chunks = [raw[:split], raw[split:]] if split else [raw]
    (ev,) = list(decode(chunks))
    assert isinstance(ev, OrderPlaced) and ev.order["platform_order_number"] == "7"


class Answer:
    """Just enough of a transport answer for the client's JSON reading."""

    status_code = 200

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.headers = {"content-type": "application/json"}

    def read(self, limit: int) -> bytes:
        return self.body

    def close(self) -> None:
        pass


def test_a_bom_before_a_json_answer_is_stripped(cart_sandbox):
    client = Client(Endpoints(cart_sandbox.url, cart_sandbox.url, "t"))
    answer = Answer('\ufeff{"platform_order_number": "9"}'.encode())
    assert client._order_answer(answer, "rid", "complete-order")["platform_order_number"] == "9"


@pytest.mark.parametrize(
    ("body", "error", "code"),
    [
        (b'{"cart_id": "c", "notice": ["CART_ITEMS_REMOVED"]}', CartChanged, "CART_ITEMS_REMOVED"),
        (b'{"cart_id": "c", "notice": "SOMETHING_ELSE"}', CartChanged, "SOMETHING_ELSE"),
        (b'{"cart_id": "c", "cart_status": "submitted"}', OutcomeUnknown, "OutcomeUnknown"),
        (b'{"platform_order_number": ""}', OutcomeUnknown, "OutcomeUnknown"),
        (b"[]", OutcomeUnknown, "OutcomeUnknown"),
    ],
)
def test_a_200_without_an_order_number_is_not_an_order(cart_sandbox, body, error, code):
    client = Client(Endpoints(cart_sandbox.url, cart_sandbox.url, "t"))
    with pytest.raises(error) as e:
        client._order_answer(Answer(body), "rid", "complete-order")
    assert e.value.code == code
    assert e.value.exit_code == (4 if error is CartChanged else 8)


def test_the_receipt_of_a_real_answer():
    money = {"currency": "USD", "value": 44.1}  # no symbol, no number
    order = {
        "platform_order_number": "000186872",
        "line_items": [
            {
                "sku": "WS12",
                "description": "Tee",
                "quantity": 2,
                "price": {"currency": "USD", "value": 22.05},
            }
        ],
        "sub_total": money,
        "total": {"currency": "USD", "value": 0.3},
        "payment_summary": {
            "card_type": "Visa",
            "last_four": "1111",
            "card_holder_name": "Ada Lovelace",
            "bin": "411111",
            "month": 8,
            "year": GOOD_YEAR,
        },
        "shipping_info": {"first_name": "Ada", "city": "Seattle", "state_name": "Washington"},
    }
    buf = io.StringIO()
    Console(file=buf, width=120, color_system=None).print(receipt(order, "shop.test"))
    out = buf.getvalue()
    assert "$22.05" in out and "$44.10" in out and "$0.30" in out  # value only, read as Decimal
    assert "Visa ending 1111, Ada Lovelace" in out
    assert "Ada, Seattle, Washington" in out
    assert "411111" not in out


class StubCartClient(StubClient):
    """Enough of Client for the cart flow: complete-order is refused once (key or work)."""

    def __init__(self, error):
        super().__init__(error)
        self.calls = []
        self.new_sessions = 0

    def cart_lock(self, domain):
        import threading

        return threading.Lock()

    def cart_unsettled(self, domain):
        return False, None

    def mark_cart_unsettled(self, domain, request_id):
        pass

    def clear_cart(self, domain):
        self.calls.append("clear")
        raise ApiError("ErrorCartNotFound", "no cart yet", status=404)

    def add_item(self, domain, sku, qty):
        self.calls.append(f"add {sku} {qty}")
        return {"line_items": [{"sku": sku}]}

    def set_shipping_info(self, domain, address):
        self.calls.append("ship")
        opts = [
            {"sku": "slow", "price": {"currency": "USD", "value": 5}},
            {"sku": "free", "price": {"currency": "USD", "value": 0}},
        ]
        return {"shipping_method": {"sku": "slow"}, "shipping_method_options": opts}

    def set_shipping_method(self, domain, sku):
        self.calls.append(f"method {sku}")
        return {"shipping_method": {"sku": sku}}

    def complete_order(self, domain, body, **kw):
        self.sent += 1
        assert set(body) == {"encrypted_card", "billing_info"}
        if self.sent == 1:
            raise self.error
        return {"platform_order_number": "1"}, "rid"


def test_cart_flow_keeps_the_key_rule_and_picks_the_cheapest_method(tmp_path):
    order = load_order(write_order(tmp_path / "o.yaml"), inputs=inputs())
    before = StubCartClient(ApiError("ErrorInvalidInputBody", "unknown kid", status=400))
    assert place_order(order, before, flow="cart").order == {"platform_order_number": "1"}
    assert before.sent == 2 and before.keys == 2
    assert before.calls == ["clear", "add WS12-XS-Orange 1", "ship", "method free"]
    other = StubCartClient(ApiError("ErrorNotEnoughStock", "no", status=400))
    with pytest.raises(ApiError):
        place_order(order, other, flow="cart")
    assert other.sent == 1 and other.keys == 1


def test_choosing_the_shipping_method():
    from cart_cli.core.checkout import choose_method
    from cart_cli.core.errors import CartError, UsageError

    def opt(sku, value):
        return {"sku": sku, "price": {"currency": "USD", "value": value}}

    cart = {"shipping_method_options": [opt("a", 5), opt("b", 0.5), opt("c", "0.50")]}
    assert choose_method(cart, None) == "b"  # the cheapest; the first of equals
    assert choose_method(cart, "c") == "c"
    with pytest.raises(UsageError, match="'z' is not offered for this cart \\(offered: a, b, c\\)"):
        choose_method(cart, "z")
    assert choose_method({"shipping_method": {"sku": "m"}}, None) == "m"
    assert choose_method({}, "z") == "z"
    with pytest.raises(CartError) as e:
        choose_method({"shipping_method_options": []}, None)
    assert e.value.exit_code == 5 and "nothing was placed" in e.value.message


@pytest.mark.parametrize(
    ("refusal", "new_session"),
    [
        ("ApiError", True),  # TokenExpired or any other Token... name
        ("ServerError", True),  # a 5xx page: refused all the same
        ("InvalidAppId", False),  # a new session would fail the same way
        ("NetworkError", False),  # no answer is no refusal: keep the device for next time
    ],
)
def test_which_renewal_failures_start_a_new_session(tmp_path, refusal, new_session):
    from cart_cli.core import errors
    from cart_cli.core.client import Session
    from cart_cli.core.tokencache import TokenCache

    cache = TokenCache(tmp_path)
    client = Client(Endpoints("http://127.0.0.1:9", "http://127.0.0.1:9", "app"), token_cache=cache)
    cache.save(client.endpoints.api_url, "app", {"access_token": "old", "expires": 1.0})
    fail = {
        "ApiError": errors.ApiError("TokenExpiredSomething", "too old", status=401),
        "ServerError": errors.ServerError("HTTP 500"),
        "InvalidAppId": errors.ApiError("InvalidAppId", "bad app", status=400),
        "NetworkError": errors.NetworkError("no route"),
    }[refusal]
    calls = []

    def browser_session(renew=None):
        calls.append(renew)
        if renew:
            raise fail
        return Session("new", 2e9, "device-2")

    client._browser_session = browser_session
    if new_session:
        assert client.token() == "new"
        assert calls == ["old", None]
        assert cache.load(client.endpoints.api_url, "app") is None  # the stale token is gone
    else:
        with pytest.raises(type(fail)):
            client.token()
        assert calls == ["old"]
        assert cache.load(client.endpoints.api_url, "app")["access_token"] == "old"
