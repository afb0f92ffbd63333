"""--flow auto (docs/flows.md): place-order, and the cart flow once when the server has no
place-order route (404 RouteNotFound/ErrorNotFound for the route, before any work); never for
ErrorStoreNotFound or any other answer. Against the sandbox over real HTTP, counting requests."""

from __future__ import annotations

import pytest

from cart_cli.core.checkout import no_route
from cart_cli.core.errors import ApiError
from cart_cli.sandbox import Sandbox
from tests.helpers import cli, sandbox_orders, target, write_order

AUTO = ["--flow", "auto"]
CART_ONLY = "cart-only.luma.gift"  # the sandbox merchant without a place-order route


@pytest.fixture(scope="module")
def logged():
    lines: list[str] = []
    with Sandbox(log=lines.append) as sb:
        sb.lines = lines
        yield sb


@pytest.fixture
def sb(logged):
    assert logged.wait_idle(30)
    logged.reset()
    logged.lines.clear()
    yield logged
    assert logged.wait_idle(30)


def calls(sb, word: str) -> list[str]:
    """The logged requests whose path holds ``word``. A request to the sandbox first: its log
    line for a request is written just after the answer leaves, and the event loop serves the
    next request only after that."""
    sandbox_orders(sb)
    return [x for x in sb.lines if word in x.split()[1] and "/__sandbox/" not in x]


def test_without_a_place_order_route_exactly_one_order_goes_through_the_cart_flow(sb, tmp_path):
    order = write_order(tmp_path / "o.yaml", merchant=CART_ONLY)
    r = cli(["place", order, *AUTO, *target(sb)])
    assert r.code == 0, r.stderr
    assert "no place-order route (RouteNotFound" in r.stderr and "cart flow" in r.stderr
    assert len(calls(sb, "/place-order")) == 1  # tried once, answered 404
    assert calls(sb, "/place-order")[0].split()[2] == "404"
    assert len(calls(sb, "/complete-order")) == 1
    orders = sandbox_orders(sb)
    assert [o["merchant"] for o in orders] == [CART_ONLY]
    assert f"Order {orders[0]['order_number']}" in r.stdout


def test_quiet_still_says_the_fallback(sb, tmp_path):
    order = write_order(tmp_path / "o.yaml", merchant=CART_ONLY)
    r = cli(["place", order, *AUTO, "-q", *target(sb)])
    assert r.code == 0, r.stderr
    said = r.stderr.splitlines()
    assert len(said) == 1 and said[0].startswith("warning: the server has no place-order route"), (
        r.stderr
    )
    assert "cart flow" in said[0]


def test_the_fallback_is_in_the_json(sb, tmp_path):
    order = write_order(tmp_path / "o.yaml", merchant=CART_ONLY)
    r = cli(["place", order, *AUTO, "--json", *target(sb)])
    doc = r.json()
    assert doc["ok"] is True and doc["order"]["platform_order_number"]
    assert doc["fallback"]["from"] == "place-order" and doc["fallback"]["to"] == "cart"
    assert doc["fallback"]["reason"].startswith("RouteNotFound")
    assert "cart flow" in r.stderr


def test_with_the_route_auto_is_place_order_alone(sb, tmp_path):
    r = cli(["place", write_order(tmp_path / "o.yaml"), *AUTO, "--json", *target(sb)])
    assert r.code == 0 and "fallback" not in r.json()
    assert len(calls(sb, "/place-order")) == 1 and not calls(sb, "/api/v1/domains/")
    assert "cart flow" not in r.stderr


def test_a_store_the_server_does_not_know_does_not_fall_back(sb, tmp_path):
    order = write_order(tmp_path / "o.yaml", merchant="nowhere.example")
    r = cli(["place", order, *AUTO, "--json", *target(sb)])
    assert r.code == 2 and r.json()["error"]["code"] == "ErrorStoreNotFound"
    assert "fallback" not in r.json() and "cart flow" not in r.stderr
    assert len(calls(sb, "/place-order")) == 1 and not calls(sb, "/api/v1/domains/")


def test_other_refusals_do_not_fall_back(sb, tmp_path):
    order = write_order(tmp_path / "o.yaml", items=[{"variant_id": "NOPE", "quantity": 1}])
    r = cli(["place", order, *AUTO, *target(sb)])
    assert r.code == 4 and "ErrorProductNotFound" in r.stderr and "cart flow" not in r.stderr
    assert not calls(sb, "/api/v1/domains/") and not sandbox_orders(sb)


def test_a_failure_after_the_fallback_says_which_flow_failed(sb, tmp_path):
    order = write_order(
        tmp_path / "o.yaml", merchant=CART_ONLY, items=[{"variant_id": "NOPE", "quantity": 1}]
    )
    r = cli(["place", order, *AUTO, "--json", *target(sb)])
    doc = r.json()
    assert r.code == 4 and doc["error"]["code"] == "ErrorProductNotFound"
    assert doc["fallback"]["to"] == "cart"
    assert len(calls(sb, "/place-order")) == 1 and not calls(sb, "/complete-order")


def test_place_order_alone_on_a_server_without_the_route_suggests_the_cart_flow(sb, tmp_path):
    r = cli(["place", write_order(tmp_path / "o.yaml", merchant=CART_ONLY), *target(sb)])
    assert r.code == 5 and "RouteNotFound" in r.stderr and "--flow cart (or auto)" in r.stderr
    assert not calls(sb, "/api/v1/domains/") and not sandbox_orders(sb)


def test_auto_from_the_environment_and_the_order_file(sb, tmp_path):
    r = cli(
        ["place", write_order(tmp_path / "a.yaml", merchant=CART_ONLY), *target(sb)],
        env={"CART_CLI_FLOW": "auto"},
    )
    assert r.code == 0, r.stderr
    r = cli(
        ["place", write_order(tmp_path / "b.yaml", merchant=CART_ONLY, flow="auto"), *target(sb)]
    )
    assert r.code == 0, r.stderr
    assert len(sandbox_orders(sb)) == 2


def test_dry_run_of_auto_shows_place_order_and_the_fallback(sb, tmp_path):
    order = write_order(tmp_path / "o.yaml", merchant=CART_ONLY)
    doc = cli(["place", order, *AUTO, "--dry-run", *target(sb)]).json()
    assert doc["flow"] == "auto" and doc["url"].endswith("/place-order?sse=true")
    assert "cart flow" in doc["fallback"]
    assert not calls(sb, "/place-order")


def test_a_batch_falls_back_per_order(sb, tmp_path):
    import yaml

    f = tmp_path / "b.yaml"
    one = {"items": [{"variant_id": "WS12-XS-Orange", "quantity": 1}]}
    doc = yaml.safe_load(write_order(tmp_path / "o.yaml").read_text())
    defaults = {k: v for k, v in doc.items() if k not in ("merchant", "items")}
    orders = [{"merchant": CART_ONLY, **one}, {"merchant": "staging.luma.gift", **one}]
    f.write_text(yaml.safe_dump({"defaults": defaults, "orders": orders}))
    r = cli(["batch", f, *AUTO, "--json", "--ledger", tmp_path / "l.jsonl", *target(sb)])
    assert r.code == 0, r.stderr
    jobs = r.json()["orders"]
    assert [bool(j.get("fallback")) for j in jobs] == [True, False]
    assert "cart flow" in jobs[0]["note"] and jobs[1]["note"] is None
    assert "through the cart flow: the server has no place-order route" in r.stderr
    assert sorted(o["merchant"] for o in sandbox_orders(sb)) == [CART_ONLY, "staging.luma.gift"]


@pytest.mark.parametrize(
    ("name", "status", "during_work", "falls_back"),
    [
        ("RouteNotFound", 404, False, True),
        ("ErrorNotFound", 404, False, True),
        ("ErrorStoreNotFound", 404, False, False),
        ("ErrorProductNotFound", 404, False, False),
        ("RouteNotFound", 404, True, False),  # an error event: the server had begun
        ("RouteNotFound", 400, False, False),
        ("ErrorMethodNotAllowed", 405, False, False),
    ],
)
def test_only_a_missing_route_before_any_work_falls_back(name, status, during_work, falls_back):
    e = ApiError(name, "x", status=status, during_work=during_work)
    assert no_route(e) is falls_back
