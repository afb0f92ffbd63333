"""Defaults, in one light module (the CLI's help text imports it at startup)."""

DEFAULT_API_URL = "https://api.firmly.work"
DEFAULT_PAYMENT_URL = "https://cc.firmly.work"
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
ORDER_READ_TIMEOUT = 180.0  # an order call that answers only when done (no SSE, complete-order)
LEDGER_DEFAULT = ".cart-cli-ledger.jsonl"
SANDBOX_APP_ID = "sandbox"
