"""What `cart-cli init` writes, as templates (cart_cli/core/scaffold.py fills them in)."""
