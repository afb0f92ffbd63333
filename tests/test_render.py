"""What a person sees: the live displays, driven with event sequences on fixed-width recording
consoles and an injected clock; the receipt and the batch summary at 40, 60 and 120 columns;
and `cart-cli place` itself under a pseudo-terminal."""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from cart_cli.cli.ui.live import LiveDisplay
from cart_cli.cli.ui.progress import PlainLines, progress_for
from cart_cli.cli.ui.tracker import Tracker
from cart_cli.core.errors import ApiError, OutcomeUnknown
from cart_cli.core.events import (
    CreatingCart,
    Garbled,
    ItemAdded,
    OrderPlaced,
    ShippingUpdated,
    Step,
)
from tests.helpers import ADDRESS, ANSI, ANSI_SEQUENCE, GOOD_YEAR, SAMPLES

WIDTHS = (40, 60, 120)
SKUS = ["WS12-XS-Orange", "MH07-XS-Gray", "24-WG085-Extra-Long-Variant"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float = 0.25) -> None:
        self.now += seconds


def money(cents: int) -> dict:
    return {"currency": "USD", "value": cents / 100, "symbol": "$", "number": cents}


def cart(n: int) -> dict:
    return {
        "line_items": [{"sku": SKUS[i % len(SKUS)]} for i in range(n)],
        "shipping_method": {"description": "Flat Rate", "price": money(500)},
    }


def sse_events(n: int) -> list:
    return [
        Step("session"),
        Step("key"),
        Step("encrypt"),
        Step("submit"),
        CreatingCart("staging.luma.gift"),
        *(ItemAdded(cart(i), i, n) for i in range(1, n + 1)),
        ShippingUpdated(cart(n)),
        OrderPlaced({"platform_order_number": "000000042"}),
    ]


def plain_events() -> list:
    return [*sse_events(1)[:4], OrderPlaced({"platform_order_number": "000000042"})]


def screen(renderable, width: int) -> str:
    """As on stderr: a soft-wrapping console (long messages stay one line to copy)."""
    out = Console(file=io.StringIO(), width=width, color_system=None, soft_wrap=True)
    out.print(renderable)
    return out.file.getvalue()


def live_display(items: int, *, sse: bool = True, width: int = 100, clock=None) -> LiveDisplay:
    console = Console(file=io.StringIO(), force_terminal=True, width=width, color_system=None)
    return LiveDisplay(
        "staging.luma.gift",
        console,
        start=False,
        items=items,
        sse=sse,
        target="sandbox (127.0.0.1:8787)",
        clock=clock or FakeClock(),
    )


def row(text: str, label: str) -> str:
    """The line of a stage (the label right after its mark) or of an in-flight order."""
    lines = text.splitlines()
    stage = [line for line in lines if line[2:].startswith(label)]
    return (stage or [line for line in lines if line.startswith(label)])[0]


# ---- place: the bar, the stages, the spinner ---


@pytest.mark.parametrize("n", [1, 50])
def test_the_bar_has_its_total_from_the_start_and_advances_on_every_event(n):
    clock = FakeClock()
    live = live_display(n, clock=clock)
    total = 4 + 1 + n + 1 + 1  # local steps, cart, one per item, shipping, placed
    assert (live.tracker.completed, live.tracker.total) == (0, total)
    for done, ev in enumerate(sse_events(n), start=1):
        clock.tick()
        live(ev)
        assert (live.tracker.completed, live.tracker.total) == (done, total)
        text = screen(live.render(), 100)
        assert f"{done}/{total}" in text and "?" not in text
    assert "100%" in text
    assert live.tracker.state == dict.fromkeys(live.tracker.state, "done")


def test_the_stages_show_the_item_counter_sku_and_labelled_durations():
    clock = FakeClock()
    live = live_display(3, clock=clock)
    for ev in sse_events(3)[:6]:  # up to the first item
        clock.tick(0.5)
        live(ev)
    clock.tick(0.2)
    live(sse_events(3)[6])  # the second item
    text = screen(live.render(), 100)
    assert "Placing order on staging.luma.gift → sandbox (127.0.0.1:8787)" in text
    assert "time" in row(text, "stage")  # the duration column is labelled
    assert "2/3 MH07-XS-Gray" in row(text, "Adding items")
    assert row(text, "Creating cart").rstrip().endswith("0.5s")
    assert row(text, "Adding items").rstrip().endswith("0.7s")  # running: counts on
    assert row(text, "Setting shipping").strip() == "· Setting shipping"
    # the durations sit in one fixed column, whatever the details' widths
    ends = {len(row(text, label).rstrip()) for label in ("Preparing", "Creating", "Adding")}
    assert len(ends) == 1


def test_the_spinner_turns_between_two_renders():
    clock = FakeClock()
    live = live_display(2, clock=clock)
    for ev in sse_events(2)[:5]:
        live(ev)
    first = row(screen(live.render(), 100), "Adding items")
    clock.tick(0.1)
    second = row(screen(live.render(), 100), "Adding items")
    assert first[0] != second[0] and first[2:] != "" and first[0] not in "·✓✗"


def test_events_do_not_draw_the_live_display_draws_at_its_own_rate():
    live = live_display(50)
    for ev in sse_events(50):
        live(ev)
    assert live.console.file.getvalue() == ""  # nothing written per event
    assert live.live.auto_refresh and live.live.refresh_per_second <= 10


FAILURES = [
    # (events before the error, the stage that fails)
    (1, "Preparing"),
    (4, "Creating cart"),  # sent; no event yet: a closed store fails here
    (5, "Adding items"),  # the cart exists: out of stock fails the items
    (6, "Adding items"),  # one of two items in
    (7, "Setting shipping"),
    (8, "Placing order"),  # a declined card
]


@pytest.mark.parametrize(("seen", "stage"), FAILURES)
def test_a_failure_marks_the_stage_where_it_came(seen, stage):
    live = live_display(2)
    with pytest.raises(ApiError), live:
        for ev in sse_events(2)[:seen]:
            live(ev)
        raise ApiError("ErrorNotEnoughStock", "Only 1 left", request_id="r1")
    text = screen(live.render(), 100)
    assert row(text, stage).startswith("✗")
    assert "ErrorNotEnoughStock" in row(text, stage)
    assert sum(line.startswith("✗") for line in text.splitlines()) == 1
    assert live.tracker.label[live.tracker.failed_stage] == stage
    assert str(live.summary()).startswith(f"✗ {stage} failed after")


@pytest.mark.parametrize(
    ("exc", "summary"),
    [
        (
            OutcomeUnknown("the stream broke off"),
            "? Outcome unknown: stopped at Adding items after",
        ),
        (KeyboardInterrupt(), "✗ Interrupted at Adding items after"),
    ],
)
def test_an_unknown_outcome_or_an_interrupt_is_not_called_a_failure(exc, summary):
    live = live_display(2)
    with pytest.raises(type(exc)), live:
        for ev in sse_events(2)[:6]:
            live(ev)
        raise exc
    assert str(live.summary()).startswith(summary)
    assert live.tracker.failed_stage == "item-added"  # marked where it stopped


def test_no_stage_row_fills_the_last_column():
    """A ^C echoed after a (nearly) full-width last line would wrap and strand a line: no line,
    padding included, reaches the last two columns, also when the header (merchant and target)
    is wider than the terminal and wraps (the padding is where the cursor waits)."""
    live = live_display(3, width=60)
    live.target = "staging · embedded sandbox 127.0.0.1:33305 · app id sandbox"
    for ev in sse_events(3)[:7]:
        live(ev)
    lines = screen(live.render(), 60).splitlines()
    assert lines[0].startswith("Placing order on staging.luma.gift")
    assert max(len(line) for line in lines) <= 58


def test_without_sse_one_indeterminate_bar_and_no_fake_stages():
    clock = FakeClock()
    live = live_display(3, sse=False, clock=clock)
    for ev in plain_events()[:4]:
        live(ev)
    clock.tick(3)
    text = screen(live.render(), 100)
    assert "waiting for the order" in text and "?" not in text
    for fake in ("Creating cart", "Adding items", "Setting shipping"):
        assert fake not in text
    assert live.tracker.state == {"prepare": "done", "wait": "active"}
    assert row(text, "Placing order").rstrip().endswith("3.0s")
    live(plain_events()[-1])
    assert live.tracker.state == {"prepare": "done", "wait": "done"}
    assert str(live.summary()).startswith("✓ Order 000000042 placed on staging.luma.gift")


def test_without_sse_an_unknown_outcome_fails_the_wait():
    live = live_display(1, sse=False)
    with pytest.raises(OutcomeUnknown), live:
        for ev in plain_events()[:4]:
            live(ev)
        raise OutcomeUnknown("timed out")
    assert live.tracker.failed_stage == "wait"


@pytest.mark.parametrize("width", WIDTHS)
def test_the_live_display_fits_and_cuts_nothing(width):
    live = live_display(3)
    for ev in sse_events(3)[:7]:
        live(ev)
    text = screen(live.render(), width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert "…" not in text
    assert "2/3" in row(text, "Adding items")
    assert any("MH07-XS-Gray" in line for line in text.splitlines())
    assert "127.0.0.1:8787" in "".join(line.strip() for line in text.splitlines())


def test_the_display_collapses_to_one_line_when_done():
    console = Console(file=io.StringIO(), force_terminal=True, width=80, color_system=None)
    with LiveDisplay("m.test", console, items=1) as live:
        for ev in sse_events(1):
            live(ev)
    out = console.file.getvalue()
    assert "100%" in out  # the last frame was drawn
    last = out.rsplit("\x1b", 1)[-1]
    assert "✓ Order 000000042 placed on m.test in" in last


def test_tracker_tolerates_a_key_rotation_resend_and_skipped_events():
    t = Tracker(2)
    for ev in [Step("session"), Step("key"), Step("encrypt"), Step("submit")]:
        t(ev)
    t(Step("encrypt"))  # re-encrypted after a key rotation, then sent again
    t(Step("submit"))
    assert t.completed == 4 and t.current == "creating-cart"
    t(ShippingUpdated(cart(2)))  # no item events came: they must have happened
    assert t.state["item-added"] == "done" and t.current == "order-placed"
    assert t.completed == t.total - 1


def test_tracker_without_sse_takes_cart_events_as_placing_the_order():
    t = Tracker(2, sse=False)
    for ev in sse_events(2)[:3]:
        t(ev)
    for ev in [*sse_events(2)[4:8], Step("submit"), sse_events(2)[-1]]:  # the cart flow's order
        t(ev)
        assert t.current in ("wait", None) and t.completed <= t.total
    assert t.ok and t.completed == t.total


def test_tracker_in_the_cart_flow_sends_after_the_cart_is_built():
    t = Tracker(2)
    events = sse_events(2)
    for ev in [*events[:3], *events[4:8]]:  # session, key, encrypt; cart, items, shipping
        t(ev)
    assert t.current == "order-placed" and t.completed == t.total - 1
    t(Step("submit"))  # complete-order leaves now: still placing the order
    assert t.current == "order-placed" and t.completed == t.total - 1
    t(events[-1])
    assert t.ok and t.completed == t.total


@settings(max_examples=200, deadline=None)
@given(
    items=st.integers(min_value=0, max_value=5),
    sse=st.booleans(),
    picks=st.lists(st.integers(min_value=0, max_value=10), max_size=20),
    ok=st.booleans(),
)
def test_tracker_takes_any_event_sequence(items, sse, picks, ok):
    """Whatever a server sends, in whatever order: the bar never goes back or past its total,
    at most one stage runs, and the end is all done or exactly one stage failed."""
    pool = sse_events(max(items, 1))
    t = Tracker(items, sse=sse)
    last = 0
    for i in picks:
        t(pool[min(i, len(pool) - 2)])  # anything but order-placed
        assert last <= t.completed <= t.total
        assert sum(state == "active" for state in t.state.values()) <= 1
        last = t.completed
    t.finish(ok, "" if ok else "ErrorX")
    if ok:
        assert set(t.state.values()) == {"done"} and t.completed == t.total
    else:
        assert list(t.state.values()).count("failed") == 1


# ---- off a terminal ---


def test_plain_lines_off_a_terminal():
    buf = io.StringIO()
    with PlainLines("m.test", buf, items=2) as p:
        for ev in sse_events(2):
            p(ev)
    assert buf.getvalue().splitlines() == [
        "sending order to m.test",
        "creating cart on staging.luma.gift",
        "item added 1/2 WS12-XS-Orange",
        "item added 2/2 MH07-XS-Gray",
        "shipping set: Flat Rate $5.00",
        "order placed: 000000042",
    ]


def test_plain_lines_warn_about_garbled_events():
    buf = io.StringIO()
    p = PlainLines("m", buf)
    p(Garbled("item-added", "data is not a JSON object"))
    assert (
        buf.getvalue()
        == "warning: skipped an unreadable item-added event (data is not a JSON object)\n"
    )


def test_progress_choice_follows_the_terminal(monkeypatch):
    assert isinstance(
        progress_for("m", quiet=False, console=Console(file=io.StringIO())), PlainLines
    )
    live = progress_for("m", quiet=False, console=Console(file=io.StringIO(), force_terminal=True))
    live.close()
    assert isinstance(live, LiveDisplay)
    monkeypatch.setenv("TERM", "dumb")
    dumb = Console(file=io.StringIO(), force_terminal=True)
    assert isinstance(progress_for("m", quiet=False, console=dumb), PlainLines)


# ---- the receipt ---


def real_order(**over) -> dict:
    address = dict(ADDRESS)
    order = {
        "cart_id": "1e43868c-0b8a-4e55-9b55-6b2ad1b7c5a1",
        "platform_order_number": "000186872000186872",
        "submitted_at": "2026-11-28T17:52:15.123Z",
        "display_name": "Luma Store",
        "platform_id": "magento",
        "shop_id": "staging.luma.gift",
        "urls": {"thank_you_page": "https://staging.luma.gift/checkout/onepage/success/order/1"},
        "line_items": [
            {
                "sku": SKUS[0],
                "description": "Radiant Tee - Orange XS",
                "quantity": 2,
                "price": money(2200),
                "line_price": money(4400),
            },
            {
                "sku": SKUS[2],
                "description": "Sprite Yoga Strap 6 foot, the long one with the extra loop",
                "quantity": 3,
                "price": {"currency": "USD", "value": 19.99},  # only currency and value
            },
        ],
        "shipping_info": address,
        "billing_info": {**address, "address1": "2 Other Road"},
        "shipping_method": {"description": "Flat Rate (5-7 days)", "price": money(500)},
        "payment_summary": {
            "card_type": "Visa",
            "last_four": "1111",
            "month": 8,
            "year": GOOD_YEAR,
        },
        "sub_total": money(10397),
        "shipping_total": money(500),
        "tax": {"currency": "USD", "value": 1234567.89},
        "cart_discount": money(0),
        "total": {"currency": "USD", "value": 1245464.89},
    }
    order.update(over)
    return order


def receipt_text(order: dict, width: int) -> str:
    from cart_cli.cli.ui.receipt import receipt

    shown = receipt(
        order, "staging.luma.gift", target="api.firmly.work (app id abc)", request_id="9f1c-77"
    )
    return screen(shown, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_receipt_cuts_nothing(width):
    text = receipt_text(real_order(), width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    assert "…" not in text
    whole = ["000186872000186872", "$22.00", "$44.00", "$19.99", "$59.97", "$1,245,464.89"]
    for token in [*whole, SKUS[0], SKUS[2]]:  # each on one line, in one piece
        assert any(token in line for line in lines), (token, text)
    flat = "".join(line.strip() for line in lines)
    assert "https://staging.luma.gift/checkout/onepage/success/order/1" in flat  # wrapped only


def test_the_receipt_shows_billing_when_it_differs_the_target_and_the_request_id():
    text = receipt_text(real_order(), 120)
    assert "Bill to" in text and "2 Other Road" in text
    assert "Sent to" in text and "api.firmly.work (app id abc)" in text
    assert "9f1c-77" in text
    same = real_order(billing_info=real_order()["shipping_info"])
    assert "Bill to" not in receipt_text(same, 120)


def test_the_receipt_takes_a_real_answer_with_pieces_missing():
    pay = {"last_four": "4444", "card_holder_name": "Ada L", "bin": "555555"}
    order = real_order(payment_summary=pay, tax=None, cart_discount=None)
    del order["shipping_method"]
    order["shipping_info"] = {**ADDRESS, "state_or_province": None, "state_name": "Washington"}
    text = receipt_text(order, 80)
    assert "Card ending 4444, Ada L" in text and "Tax" not in text and "$59.97" in text
    assert "Seattle, Washington 98101" in text


def test_a_piped_receipt_has_no_trailing_spaces():
    from cart_cli.cli.env import Environment
    from cart_cli.cli.ui.receipt import receipt

    env = Environment(stdout=io.StringIO(), stdout_isatty=False)
    env.print_result(receipt(real_order(), "staging.luma.gift", target="t", request_id="r"))
    out = env.stdout.getvalue()
    assert "000186872000186872" in out and "┃" in out
    assert all(line == line.rstrip() for line in out.splitlines())
    assert not ANSI.search(out)


@pytest.mark.parametrize("suffix", [".svg", ".html", ".txt"])
def test_the_receipt_saves_as_svg_html_or_text(tmp_path, suffix):
    from cart_cli.cli.ui.receipt import check_receipt_path, receipt, save_receipt

    path = tmp_path / f"receipt{suffix}"
    shown = receipt(real_order(), "m", target="t", request_id="r")
    save_receipt(shown, check_receipt_path(path), title="the receipt")
    text = path.read_text("utf-8")
    assert "000186872000186872" in text.replace("&#160;", " ")
    assert path.stat().st_mode & 0o777 == 0o600  # it holds addresses
    if suffix == ".txt":
        assert all(line == line.rstrip() for line in text.splitlines())
    else:
        assert text.lstrip().startswith("<")


# ---- batch ---


def jobs(tmp_path, n: int):
    from cart_cli.core.batch import Job
    from cart_cli.core.order import load_order
    from tests.helpers import inputs, write_order

    order = load_order(write_order(tmp_path / "o.yaml"), inputs=inputs())
    return [Job("orders.yaml", "/x/orders.yaml", i, 0, order, f"h{i}", i) for i in range(n)]


def outcome(job, status: str, error=None, number: str = "000000007"):
    from cart_cli.core.batch import JobOutcome
    from cart_cli.core.checkout import OrderResult

    if status == "placed":
        result = OrderResult(
            job.order.merchant,
            True,
            order={"platform_order_number": number, "total": money(4400)},
            request_id="rid-ok",
        )
    else:
        result = OrderResult(job.order.merchant, False, error=error)
    return JobOutcome(job, status, result, seconds=1.25)


def live_batch(total: int, *, width: int = 100, height: int = 30, clock=None):
    from cart_cli.cli.ui.batch import LiveBatch

    console = Console(
        file=io.StringIO(), force_terminal=True, width=width, height=height, color_system=None
    )
    return LiveBatch(console, total, clock=clock or FakeClock(), start=False)


def test_live_batch_overall_bar_counts_and_in_flight_lines(tmp_path):
    clock = FakeClock()
    js = jobs(tmp_path, 4)
    live = live_batch(4, clock=clock)
    for j in js[:3]:
        live.started(j)
    for ev in sse_events(1)[:6]:
        live.event(js[1], ev)
    live.event(js[2], Step("session"))
    assert live.console.file.getvalue() == ""  # events draw nothing
    text = screen(live.render(), 100)
    assert "0/4" in text and "?" not in text.replace("ETA -:--", "")
    assert re.search(r"placed\s+0\s+not placed\s+0\s+unknown\s+0", text)
    assert "orders/s" in text and "elapsed 0:00" in text and "ETA" in text
    assert "orders.yaml#0" in text and "Creating cart" not in row(text, "orders.yaml#2")
    assert "Setting shipping" in row(text, "orders.yaml#1")
    assert "Preparing (session)" in row(text, "orders.yaml#2")

    clock.tick(2)
    live.finished(outcome(js[0], "placed"))
    live.finished(outcome(js[1], "failed", ApiError("ErrorNotEnoughStock", "none")))
    live.finished(outcome(js[2], "failed", OutcomeUnknown("stream broke off")))
    live.draw()
    out = live.console.file.getvalue()
    assert "✓ orders.yaml#0  000000007  $44.00  1.2s" in out
    assert "✗ orders.yaml#1  not placed  ErrorNotEnoughStock" in out
    assert "? orders.yaml#2  unknown" in out
    text = screen(live.render(), 100)
    assert "3/4" in text and "orders.yaml#1" not in text
    assert re.search(r"placed\s+1\s+not placed\s+1\s+unknown\s+1", text)
    assert "1.5 orders/s" in text and "elapsed 0:02" in text and "ETA 0:01" in text  # 0.7s up


def test_live_batch_shows_only_as_many_orders_as_the_terminal_has_room_for(tmp_path):
    js = jobs(tmp_path, 12)
    live = live_batch(12, height=10, width=60)
    for j in js:
        live.started(j)
    text = screen(live.render(), 60)
    assert len(text.splitlines()) <= 10 - 1
    assert "more in flight" in text
    assert max(len(line) for line in text.splitlines()) <= 60


@pytest.mark.parametrize("width", WIDTHS)
def test_batch_summary_cuts_nothing(tmp_path, width):
    from cart_cli.cli.ui.batch import summary_table

    js = jobs(tmp_path, 3)
    outcomes = [
        outcome(js[0], "placed", number="000000001234567"),
        outcome(js[1], "failed", ApiError("ErrorNotEnoughStock", "x", request_id="a" * 32)),
        outcome(js[2], "failed", OutcomeUnknown("broke off", request_id="b" * 32)),
    ]
    text = screen(summary_table(outcomes), width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width and "…" not in text
    for token in ("000000001234567", "$44.00", "orders.yaml#0", "ErrorNotEnoughStock"):
        assert any(token in line for line in lines), (token, text)
    flat = "".join(line.strip() for line in lines)
    assert "a" * 32 in flat and "b" * 32 in flat
    placed, not_placed, unknown = (text.index(w) for w in ("#0", "#1", "#2"))
    assert placed < not_placed < unknown  # grouped


# ---- the real thing, on a pseudo-terminal ---


def run_on_a_pty(args: list[str], env: dict) -> tuple[int, str]:
    """`cart-cli ARGS` on a 100x30 pseudo-terminal, to its end: (exit code, all it drew)."""
    from tests.helpers import pty_exit_code, spawn_on_a_pty

    pid, fd = spawn_on_a_pty(args, env={"COLUMNS": "100", "LINES": "30", **env})
    code, drawn = pty_exit_code(pid, fd)
    return code, drawn.decode("utf-8", "replace")


def test_place_on_a_terminal_draws_the_bar_to_100_percent_then_the_receipt():
    code, text = run_on_a_pty(
        ["place", str(SAMPLES / "three-items.yaml"), "--sandbox", "--sandbox-latency", "0.05"],
        {"TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"},
    )
    assert code == 0, text
    text = ANSI_SEQUENCE.sub("", text)
    assert "Placing order on staging.luma.gift" in text
    bar_done = text.rindex("10/10 100%")
    summary = text.index("✓ Order 000000001 placed on staging.luma.gift")
    receipt = text.index("Thank-you page")
    assert bar_done < summary < receipt
    assert "Adding items" in text and "⠋" in text  # drawn live, spinner and all


def test_place_on_a_dumb_terminal_prints_plain_lines():
    code, text = run_on_a_pty(
        ["place", str(SAMPLES / "one-item.yaml"), "--sandbox"],
        {"TERM": "dumb", "COLUMNS": "100"},
    )
    assert code == 0, text
    assert "item added 1/1 WS12-XS-Orange" in text and "Thank-you page" in text
    assert "\x1b" not in text


def test_no_color_on_a_terminal_draws_without_colour():
    code, text = run_on_a_pty(
        ["place", str(SAMPLES / "one-item.yaml"), "--sandbox"],
        {"TERM": "xterm-256color", "NO_COLOR": "1"},
    )
    assert code == 0, text
    sgr = re.findall(r"\x1b\[([0-9;]*)m", text)
    assert sgr and not [s for s in sgr if re.search(r"(^|;)(3[0-9]|9[0-7]|4[0-9])(;|$)", s)]
    assert "✓ Order 000000001 placed" in text


def test_batch_on_a_terminal_ends_with_a_full_bar_then_the_summary(tmp_path):
    from tests.helpers import write_order

    f = write_order(tmp_path / "o.yaml")
    code, text = run_on_a_pty(
        ["batch", str(f), "--repeat", "3", "--sandbox", "--ledger", str(tmp_path / "l.jsonl")],
        {"TERM": "xterm-256color"},
    )
    assert code == 0, text
    text = ANSI_SEQUENCE.sub("", text)
    finished = re.findall(r"✓ \S*o\.yaml#0(?:@\d)?\s+\d{9}\s+\$[\d.]+", text)
    assert len(finished) == 3  # each finished order once, as one line
    assert text.index("3/3 100%") < text.index("Batch summary")
    assert re.search(r"placed\s+3\s+not placed\s+0\s+unknown\s+0", text)


def test_place_receipt_option_saves_the_receipt_and_refuses_a_bad_name_before_sending(
    cart_sandbox, tmp_path
):
    from tests.helpers import cli, sandbox_orders, target, write_order

    f = write_order(tmp_path / "o.yaml")
    r = cli(["place", f, *target(cart_sandbox), "--receipt", tmp_path / "r.pdf"])
    assert r.code == 2 and "--receipt" in r.stderr and ".svg" in r.stderr
    r = cli(["place", f, *target(cart_sandbox), "--receipt", tmp_path / "no" / "r.svg"])
    assert r.code == 2 and "no such folder" in r.stderr
    assert sandbox_orders(cart_sandbox) == []  # refused before anything was sent

    r = cli(["place", f, *target(cart_sandbox), "--receipt", tmp_path / "r.txt", "--json"])
    assert r.code == 0, r.stderr
    saved = (tmp_path / "r.txt").read_text("utf-8")
    number = r.json()["order"]["platform_order_number"]
    assert f"Order {number}" in saved and r.json()["request_id"] in saved
    assert "Sent to" in saved and "app id tests" in saved


def test_live_batch_an_expected_failure_is_not_shouted_about(tmp_path):
    """A decline the order file's expect: asks for is a pass: its line says so and its mark is
    not red (as the plain lines and the summary have it); an unexpected one stays red."""
    from cart_cli.core.expect import Expect, judge

    js = jobs(tmp_path, 2)
    console = Console(file=io.StringIO(), force_terminal=True, width=100, color_system="standard")
    from cart_cli.cli.ui.batch import LiveBatch

    live = LiveBatch(console, 2, clock=FakeClock(), start=False)
    declined = ApiError("ErrorPaymentDeclined", "card declined")
    met = outcome(js[0], "failed", declined)
    met.verdict = judge(Expect.model_validate({"outcome": "declined"}), met.result)
    live.finished(met)
    live.finished(outcome(js[1], "failed", declined))
    live.draw()
    out = console.file.getvalue()
    expected_line = next(line for line in out.splitlines() if "orders.yaml#0" in line)
    other_line = next(line for line in out.splitlines() if "orders.yaml#1" in line)
    assert "not placed (as expected)  ErrorPaymentDeclined" in expected_line
    assert "expectation met: declined" in expected_line
    assert "\x1b[31m" not in expected_line  # not red
    assert "\x1b[31m✗" in other_line and "(as expected)" not in other_line


def rich_piped(order: dict, width: int, **facts) -> str:
    """The receipt as rich draws it on a pipe ``width`` wide (what print_result writes)."""
    from cart_cli.cli.ui.console import make_console, strip_trailing
    from cart_cli.cli.ui.receipt import receipt

    console = make_console(io.StringIO(), False, {"COLUMNS": str(width)}, piped_width=True)
    with console.capture() as captured:
        console.print(receipt(order, "staging.luma.gift", **facts))
    return strip_trailing(captured.get())


PIECES = st.text(
    alphabet=st.sampled_from([*"aZ09 -._$/:", "·", "é", "ß", "€", "中", "\u0301", "\x1b", "→"]),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(PIECES, PIECES, st.integers(-3, 10**9)), max_size=3),
    PIECES,
    PIECES,
    st.sampled_from([40, 80, 120, 200, 200, 200]),
)
def test_a_piped_receipt_without_rich_is_the_one_rich_draws(lines, name, rid, width):
    from cart_cli.cli.ui.receipt import plain_receipt

    order = real_order(
        line_items=[
            {"sku": sku, "description": desc, "quantity": 1, "price": money(c)}
            for desc, sku, c in lines
        ],
        display_name=name,
    )
    facts = {"target": "staging · 127.0.0.1:8787 · app id bench", "request_id": rid or None}
    text = plain_receipt(order, "staging.luma.gift", width=width, **facts)
    if text is not None:  # else rich draws it
        assert text == rich_piped(order, width, **facts)


def test_the_usual_receipt_is_drawn_without_rich():
    from cart_cli.cli.ui.receipt import plain_receipt

    facts = {"target": "staging · 127.0.0.1:8787 · app id bench", "request_id": "9f1c-77"}
    text = plain_receipt(real_order(), "staging.luma.gift", width=200, **facts)
    assert text == rich_piped(real_order(), 200, **facts)


def test_a_receipt_is_drawn_plain_only_where_rich_would_draw_plain_text():
    from cart_cli.cli.ui.console import PIPED_WIDTH, plain_width

    assert plain_width(False, {}) == PIPED_WIDTH
    assert plain_width(False, {"COLUMNS": "80"}) == 80
    assert plain_width(True, {}) is None  # a terminal: rich, with its styles
    for forced in ({"FORCE_COLOR": "1"}, {"TTY_COMPATIBLE": "1"}, {"COLUMNS": "wide"}):
        assert plain_width(False, forced) is None
