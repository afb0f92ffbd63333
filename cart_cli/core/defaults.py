"""Defaults, in one light module (the CLI's help text imports it at startup)."""

DEFAULT_API_URL = "https://api.firmly.work"
DEFAULT_PAYMENT_URL = "https://cc.firmly.work"
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
ORDER_READ_TIMEOUT = 180.0  # an order call that answers only when done (no SSE, complete-order)
LEDGER_DEFAULT = ".cart-cli-ledger.jsonl"
SANDBOX_APP_ID = "sandbox"


EXAMPLE_ORDER = "one-item.yaml"  # what `place --sandbox` with no order places


def example_path(name: str = EXAMPLE_ORDER):
    """An example order's file, where this installed cart-cli keeps it: cart_cli/examples/ (a
    folder of package data, not a package; in a clone also sample_orders/)."""
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "examples" / name
