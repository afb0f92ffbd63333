"""Fuzz of the client's readers of what a server sends (issue 17): arbitrary bytes in, a value
or a documented error out (wirejson.Unreadable, events.StreamTooLarge, a CartError), never any
other exception; the SSE framing does not depend on where the chunks are cut."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cart_cli.core import wirejson
from cart_cli.core.errors import CartError
from cart_cli.core.events import Event, StreamTooLarge, decode, sse_events

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
# Bytes that look like JSON often enough to reach past the first character.
jsonish = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.tuples(json_values, st.binary(max_size=8), st.integers(0, 200)).map(
        lambda t: (lambda b: b[: t[2]] + t[1] + b[t[2] :])(json.dumps(t[0]).encode())
    ),
    st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n),
)


@FUZZ
@given(raw=jsonish)
def test_json_reader_gives_a_value_or_unreadable(raw):
    try:
        value = wirejson.loads(raw)
    except wirejson.Unreadable as e:
        assert str(e)
        return
    json.dumps(value)  # whatever it read can be written back (no lone surrogate, no depth bomb)
    json.dumps(value).encode("utf-8")


sse_lines = st.lists(
    st.one_of(
        st.sampled_from(
            [
                b"event: order-placed",
                b"event: item-added",
                b"event: error",
                b'data: {"platform_order_number": "1"}',
                b"data: {",
                b": keepalive",
                b"",
                b"id: 7",
                b"retry: 10",
                b"data",
                b"\xef\xbb\xbf",
            ]
        ),
        st.binary(max_size=40),
    ),
    max_size=30,
)
ends = st.sampled_from([b"\n", b"\r\n", b"\r"])


def cut(raw: bytes, points: list[int]) -> list[bytes]:
    at = sorted({p % (len(raw) + 1) for p in points})
    return [raw[a:b] for a, b in zip([0, *at], [*at, len(raw)], strict=True)]


@FUZZ
@given(lines=sse_lines, end=ends, points=st.lists(st.integers(0, 5000), max_size=20))
def test_sse_framing_gives_events_or_too_large_however_it_is_cut(lines, end, points):
    raw = end.join(lines)

    def frame(chunks):
        try:
            return list(sse_events(chunks, max_line=64, max_event=128)), None
        except StreamTooLarge as e:
            return None, str(e)

    whole = frame([raw])
    assert frame(cut(raw, points)) == whole  # the same events, wherever the chunks are cut
    events, _ = whole
    for name, data in events or []:
        assert isinstance(name, str) and isinstance(data, bytes)


@FUZZ
@given(chunks=st.lists(st.binary(max_size=200), max_size=12))
def test_sse_decoding_of_arbitrary_bytes_gives_typed_events_or_a_documented_error(chunks):
    try:
        for ev in decode(chunks, total_items=2):
            assert isinstance(ev, Event)
    except StreamTooLarge:
        pass


@FUZZ
@given(lines=sse_lines, end=ends)
def test_sse_events_reach_the_typed_decoder_without_surprises(lines, end):
    for ev in decode([end.join(lines)]):
        assert isinstance(ev, Event)


@FUZZ
@given(body=jsonish, status=st.sampled_from([200, 400, 401, 500, 503]))
def test_the_clients_answer_reading_ends_in_a_value_or_a_cart_error(body, status):
    """The client's own JSON path, on an answer object as the transport gives it."""
    from cart_cli.core.client import Client, Endpoints

    class Answer:
        def __init__(self) -> None:
            self.status_code = status
            self.headers = {"content-type": "application/json"}

        def read(self, limit):
            return body

    client = Client.__new__(Client)  # no session, no sockets: only the reading is fuzzed
    client.endpoints = Endpoints("http://127.0.0.1:1", "http://127.0.0.1:1", "a")
    client.local = True
    for call in (
        lambda: client._order_answer(Answer(), "rid", "place-order"),
        lambda: client._error(Answer(), "rid", "request"),
        lambda: client._error(Answer(), "rid", "request", placing="place-order"),
    ):
        try:
            result = call()
        except CartError as e:
            assert e.exit_code in (4, 5, 8) and e.message
        else:
            assert isinstance(result, (dict, CartError))


def test_many_lines_in_one_event_cost_linear_time():
    """sseclient-py copies its buffer once per line: the framer stops an event of many lines (or
    a run of comment lines with no blank one) before it reaches that buffer."""
    import time

    comments = [b": keepalive\n" * 100_000]  # 1.2 MB of comments, no blank line
    started = time.process_time()
    assert list(sse_events([*comments, b"data: {}\n\n"])) == [("message", b"{}")]
    many = [b"data: x\n" * 2_000]
    with pytest.raises(StreamTooLarge, match="more than 1,000 lines"):
        list(sse_events(many))
    assert time.process_time() - started < 5  # quadratic: minutes


JSON_TEXT = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(alphabet=st.sampled_from(["a", "é", "😀", "\ud800", "\udc00", "[", "{"]), max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3)
    ),
    max_leaves=20,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(JSON_TEXT, st.integers(0, 70), st.booleans())
def test_the_quick_look_at_the_text_refuses_what_the_walk_refuses(value, depth, ascii_only):
    # wirejson.loads walks the value only when the text could hold what the walk refuses: the
    # answer is the same as walking every value.
    text = "[" * depth + json.dumps(value, ensure_ascii=ascii_only) + "]" * depth
    try:
        walked = json.loads(text)
        wirejson.check_value(walked)
        expected = None
    except (wirejson.Unreadable, ValueError) as e:
        expected = type(e).__name__
    try:
        wirejson.loads(text.encode("utf-8", "surrogatepass") if ascii_only else text)
        got = None
    except wirejson.Unreadable:
        got = "Unreadable"
    assert got == (expected and "Unreadable")
