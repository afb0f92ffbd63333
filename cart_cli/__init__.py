"""cart-cli: place test orders against Firmly's Simple Cart API (v1)."""

__version__ = "0.1.0"
