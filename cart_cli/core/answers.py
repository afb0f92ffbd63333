"""The shapes of the API's answers that the client reads past the order number: a member of
the wrong type (``urls: "x"``, ``line_items: 5``) is dropped, never walked into."""

from __future__ import annotations

# A placed order's members that only decorate the receipt, with the JSON type each must have.
DECORATIVE = {
    "urls": dict,
    "total": dict,
    "sub_total": dict,
    "shipping_total": dict,
    "tax": dict,
    "cart_discount": dict,
    "shipping_method": dict,
    "shipping_info": dict,
    "billing_info": dict,
    "payment_summary": dict,
    "line_items": list,
    "display_name": str,
    "submitted_at": str,
    "cart_id": str,
    "shop_id": str,
    "platform_id": str,
}


def tidy_order(order: dict) -> tuple[dict, list[str]]:
    """A placed order with each decorative member of the wrong type dropped, and one note per
    member dropped (the order is placed all the same: exit 0, with a warning)."""
    notes = []
    tidy = dict(order)
    for key, kind in DECORATIVE.items():
        value = tidy.get(key)
        if value is not None and not isinstance(value, kind):
            del tidy[key]
            notes.append(
                f"the placed order's {key} was left out: a {type(value).__name__} where the API "
                f"gives {'an object' if kind is dict else 'a list' if kind is list else 'text'}"
            )
    urls = tidy.get("urls")
    if isinstance(urls, dict) and any(not isinstance(v, str) for v in urls.values()):
        tidy["urls"] = {k: v for k, v in urls.items() if isinstance(v, str)}
        notes.append("the placed order's urls held something other than text: left out")
    return tidy, notes


# A cart's members the client reads (the cart flow, progress, ``cart show``).
CART = {
    "line_items": list,
    "shipping_method_options": list,
    "shipping_method": (dict, str),
    "shipping_info": dict,
    "total": dict,
    "sub_total": dict,
    "shipping_total": dict,
    "tax": dict,
    "cart_discount": dict,
    "cart_id": str,
}


def tidy_cart(cart: dict) -> dict:
    """A cart answer with each member of the wrong type dropped, and list members holding only
    objects (a cart is read, never trusted to be well formed)."""
    tidy = {}
    for key, value in cart.items():
        kind = CART.get(key)
        if kind is not None and value is not None and not isinstance(value, kind):
            continue
        if kind is list and isinstance(value, list):
            value = [v for v in value if isinstance(v, dict)]
        tidy[key] = value
    return tidy
