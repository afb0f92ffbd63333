"""Example orders that ship with cart-cli (in a clone, also reachable as sample_orders/).

`cart-cli place --sandbox` with no order places ``one-item.yaml``; `cart-cli init` writes a smoke
suite of its own (cart_cli/templates)."""

from __future__ import annotations

from pathlib import Path

DEFAULT = "one-item.yaml"


def path(name: str = DEFAULT) -> Path:
    """The example's file, where this installed cart-cli keeps it."""
    return Path(__file__).with_name(name)
