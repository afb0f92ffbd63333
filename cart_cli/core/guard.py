"""The production guard: is a target production, and what may be sent to one.

A target is production when its profile says ``production = true``, or when a host it sends to is
not a known staging or sandbox host (loopback, Firmly's staging ``*.firmly.work``, the embedded
sandbox). A profile's ``production = false`` vouches only for the hosts that profile names: a flag
or variable that points it at another host brings the host rule back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from cart_cli.core.defaults import DEFAULT_API_URL, DEFAULT_PAYMENT_URL
from cart_cli.core.errors import UsageError

STAGING_SUFFIXES = (".firmly.work",)
STAGING_HOSTS = frozenset(
    h for h in (urlsplit(DEFAULT_API_URL).hostname, urlsplit(DEFAULT_PAYMENT_URL).hostname) if h
)


def host_of(url: str | None) -> str:
    try:
        return (urlsplit((url or "").strip()).hostname or "").lower()
    except ValueError:  # an unreadable URL: no known host (check_url says what is wrong)
        return ""


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def known_staging(host: str) -> bool:
    return (
        is_loopback(host)
        or host in STAGING_HOSTS
        or any(host.endswith(s) and host != s.lstrip(".") for s in STAGING_SUFFIXES)
    )


def is_production(
    urls: tuple[str, ...],
    *,
    declared: bool | None = None,
    vouched: tuple[str, ...] = (),
    embedded_sandbox: bool = False,
) -> bool:
    """``declared``: the profile's ``production``; ``vouched``: the URLs that profile names."""
    if embedded_sandbox:
        return False
    if declared is True:
        return True
    vouched_hosts = {host_of(u) for u in vouched} if declared is False else set()
    return any(not known_staging(host_of(u)) and host_of(u) not in vouched_hosts for u in urls if u)


# ---- what a production target refuses or asks for ---


def refuse_test_card(card_number: str, alias_hint: str = "") -> None:
    """Test cards are for staging and the sandbox: against production, a usage error."""
    from cart_cli.wire.cards import test_card_of

    card = test_card_of(card_number)  # compared as digits, however they are written
    if card is not None:
        raise UsageError(
            f"test card test:{card.alias} refused: the target is production",
            hint="Use a real card (a file or - for stdin), or a staging profile.",
        )


def confirm(
    merchant: str,
    *,
    yes: bool,
    interactive: bool,
    ask: Callable[[str], str],
    what: str = "a real order",
    where: str = "",
) -> None:
    """Before anything is sent to production: --yes, or the merchant domain typed on a terminal."""
    if yes:
        return
    if not interactive:
        raise UsageError(
            f"the target is production: {what} on {merchant} needs --yes when there is no "
            "terminal to confirm on",
        )
    where = f" ({where})" if where else ""
    answer = ask(
        f"This sends {what} to PRODUCTION{where}.\nType the merchant domain ({merchant}) to go on"
    )
    if answer.strip().lower() != merchant.lower():
        raise UsageError("not confirmed: nothing was sent")


def parse_amount(text: str) -> Decimal:
    from cart_cli.wire.text import has_foreign_digits

    if has_foreign_digits(text):
        raise UsageError(f"--max-spend {text!r} is not an amount like 250 or 99.50 (digits 0-9)")
    try:
        amount = Decimal(text.strip().lstrip("$"))
    except (InvalidOperation, AttributeError):
        raise UsageError(f"--max-spend {text!r} is not an amount like 250 or 99.50") from None
    if not amount.is_finite() or amount <= 0:
        raise UsageError(f"--max-spend {text!r} must be a positive amount")
    return amount


@dataclass
class Budget:
    """A batch's limits: at most ``max_orders`` launched; no launch once ``max_spend`` is spent.

    Spend counts the totals of placed orders; orders already in flight when it is reached still
    finish, so a run can go past it by at most what those orders cost."""

    max_orders: int | None = None
    max_spend: Decimal | None = None
    launched: int = 0
    spent: Decimal = Decimal(0)
    reason: str = ""

    def allows(self) -> bool:
        if self.max_orders is not None and self.launched >= self.max_orders:
            self.reason = f"--max-orders {self.max_orders} reached"
        elif self.max_spend is not None and self.spent >= self.max_spend:
            self.reason = f"--max-spend {self.max_spend} reached (spent {self.spent})"
        else:
            return True
        return False

    def launch(self) -> None:
        self.launched += 1

    def spend(self, order: dict | None) -> None:
        from cart_cli.wire.money import to_cents

        cents = to_cents((order or {}).get("total"))
        if cents:
            self.spent += Decimal(cents) / 100

    @property
    def active(self) -> bool:
        return self.max_orders is not None or self.max_spend is not None
