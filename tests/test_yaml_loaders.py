"""libyaml (CSafeLoader) reads order files about 8x faster than the pure-Python loader; what a
user sees must not change: the same data, the same line for every value, the same problems."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cart_cli.core import yamldoc
from cart_cli.core.errors import OrderInvalid
from tests.helpers import SAMPLES

pytestmark = pytest.mark.skipif(
    not hasattr(yaml, "CSafeLoader"), reason="PyYAML built without libyaml"
)
ENV = {"QTY": "3", "SKU": "WS12-XS-Orange", "EMPTY": ""}


def outcome(text: str, libyaml: bool, monkeypatch) -> tuple:
    """What load_text gives: (data, lines, problems) or the problems of the OrderInvalid."""
    monkeypatch.setattr(yamldoc, "USE_LIBYAML", libyaml)
    try:
        doc = yamldoc.load_text(text, "order.yaml", ENV)
    except OrderInvalid as e:
        return ("invalid", [str(p) for p in e.problems])
    return (repr(doc.data), doc.lines, [str(p) for p in doc.problems])


def assert_same(text: str, monkeypatch) -> None:
    fast, pure = outcome(text, True, monkeypatch), outcome(text, False, monkeypatch)
    assert fast == pure, text


CASES = [
    "merchant: a\nitems:\n  - variant_id: X\n    quantity: ${QTY}\n",
    "a: 1\na: 2\n",  # duplicate key
    "a: [1, 2\nb: 3\n",  # unclosed flow sequence
    "a: b: c\n",  # mapping values not allowed here
    "a:\n\t- 1\n",  # a tab
    "base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n",  # merge key
    "bad: {<<: [1]}\n",  # a bad merge key
    "? [a, b]\n: c\n",  # a key that is not text
    "q: '${SKU}'\nn: ${SKU}\nm: ${MISSING}\nl: $${SKU}\ne: ${EMPTY}\n",
    "when: 2024-01-01\nnum: 0x1F\nf: 1e3\nb: yes\nnull: ~\n",
    "text: |\n  line one\n  line two\nfolded: >\n  a\n  b\nafter: 1\n",
    "--- \na: 1\n...\n",
    "a: 1\n---\nb: 2\n",  # a second document
    "- " * 1200 + "x\n",  # deeper than libyaml's limit: the pure loader answers
    "[" * 50 + "]" * 50 + "\n",
    "a: !!python/object:os.system x\n",
    "a: 'unclosed\n",
    "x: \x85y\n",
    "k: v\r\nk2: v2\r\n",
    "# only a comment\n",
    "a: @at\n",
    "a: !!bool maybe\n",  # PyYAML raises KeyError here: a problem, not a crash
]


@pytest.mark.parametrize("text", CASES)
def test_same_data_lines_and_problems_for_known_cases(text, monkeypatch):
    assert_same(text, monkeypatch)


def test_same_for_the_sample_orders(monkeypatch):
    files = sorted(SAMPLES.glob("*.yaml"))
    assert files
    for path in files:
        assert_same(path.read_text("utf-8"), monkeypatch)


def test_libyaml_is_used_when_available(monkeypatch):
    used = []
    real = yaml.compose

    def spy(text, Loader):
        used.append(Loader)
        return real(text, Loader=Loader)

    monkeypatch.setattr(yaml, "compose", spy)
    yamldoc.load_text("a: 1\n", "order.yaml", {})
    assert used == [yaml.CSafeLoader]


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["${QTY}", "${SKU}", "${MISSING}", "$${QTY}", "a ${SKU} b", "yes", "0x1F"]),
)
trees = st.recursive(
    scalars,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4),
        st.dictionaries(st.text(min_size=1, max_size=8), kids, max_size=4),
    ),
    max_leaves=12,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    tree=trees,
    flow=st.sampled_from([None, True, False]),
    style=st.sampled_from([None, "'", '"']),
    cut=st.integers(0, 400),
    junk=st.sampled_from(["", ":", "- ", "\t", "[", "{", "'", "&a ", "*a", "\n  x: 1", "!!int "]),
)
def test_same_data_lines_and_problems_for_generated_documents(
    tree, flow, style, cut, junk, monkeypatch
):
    text = yaml.safe_dump(
        {"order": tree}, default_flow_style=flow, default_style=style, allow_unicode=True
    )
    cut = min(cut, len(text))
    assert_same(text[:cut] + junk + text[cut:], monkeypatch)
