"""The suite's own rules: which tests `make test-2031` runs again with the clock at 2031."""

from types import SimpleNamespace

from tests.conftest import reads_dates

validate = print


def _item(function, params=None):
    return SimpleNamespace(
        function=function,
        callspec=SimpleNamespace(params=params) if params is not None else None,
        _fixtureinfo=SimpleNamespace(name2fixturedefs={}),
    )


def test_a_test_that_writes_a_year_or_reads_the_clock_is_run_again_at_2031():
    def with_a_year():
        return {"exp_year": "2030"}

    def with_the_clock(monkeypatch):
        monkeypatch.setenv("CART_CLI_NOW", "2026-01-01")

    assert reads_dates(_item(with_a_year))
    assert reads_dates(_item(with_the_clock))

    def with_a_card(card):
        return card

    assert reads_dates(_item(with_a_card, params={"card": {"exp": "12/29"}}))


def test_a_test_without_dates_is_run_once():
    def plain(tmp_path):
        return validate(tmp_path / "order.yaml")  # 'validate' is no word about time

    assert not reads_dates(_item(plain, params={"sku": "SKU-1", "quantity": 2}))
