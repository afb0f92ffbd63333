"""Products as Firmly's product endpoints answer them (docs/api.md, "Products"): a product and
its variants, each with the ``add_to_cart_ref`` Cart v2 adds by. The shape follows what the
winstonchen client reads (title, handle, pdp_url, images, variants with price, available and
add_to_cart_ref, variant_option_values)."""

from __future__ import annotations

from urllib.parse import urlsplit

from cart_cli.sandbox.catalog import Merchant, Product
from cart_cli.sandbox.errors import SandboxError
from cart_cli.wire.money import to_wire
from cart_cli.wire.names import Err


def pdp_url(m: Merchant, handle: str) -> str:
    return f"https://{m.domain}/{handle}.html"


def find(m: Merchant, handle: str) -> list[Product]:
    """The variants of the product ``handle`` names: a product handle, or a variant's sku
    (a variant's handle is its sku, as in Firmly's answers)."""
    variants = m.variants_of(handle)
    if not variants and handle in m.products:
        variants = m.variants_of(m.products[handle].product_handle)
    if not variants:
        raise SandboxError(Err.PRODUCT_NOT_FOUND, f"Product {handle} was not found")
    return variants


def find_by_url(merchants: dict[str, Merchant], url: str) -> tuple[Merchant, list[Product]]:
    """The merchant and product of a product page URL: its host names the merchant (``www.``
    aside), its path ``/HANDLE.html`` (or ``/HANDLE``) the product."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    if parts.scheme not in ("http", "https") or not host:
        raise SandboxError(Err.INVALID_INPUT, "url must be a product page's http(s) URL")
    m = merchants.get(host)
    if m is None:
        raise SandboxError(Err.STORE_NOT_FOUND, f"No store is configured for domain {host}")
    handle = parts.path.strip("/").removesuffix(".html")
    if not handle:
        raise SandboxError(Err.PRODUCT_NOT_FOUND, f"No product at {url}")
    return m, find(m, handle)


def view(m: Merchant, variants: list[Product], stock: dict[str, int]) -> dict:
    cur = m.currency
    first = variants[0]
    handle = first.product_handle
    several = len(variants) > 1
    out = []
    for v in variants:
        image = {"url": f"https://{m.domain}/media/catalog/{v.sku}.jpg", "type": "default"}
        variant = {
            "handle": v.sku,
            "sku": v.sku,
            "display_name": v.description,
            "title": v.description,
            "available": stock.get(v.sku, 0) > 0,
            "price": to_wire(v.price, cur),
            "images": [image],
            "add_to_cart_ref": {"variant_id": v.sku},
        }
        if several:
            variant["option1"] = v.description
            variant["variant_option_list"] = [v.description]
        out.append(variant)
    options = []
    if several:  # one option group, "Variant": enough for a configurator to pick any of them
        options.append(
            {
                "display_name": "Variant",
                "property_accessor": "option1",
                "position": 0,
                "option_values": [
                    {"display_name": v.description, "value": v.description} for v in variants
                ],
            }
        )
    return {
        "base_sku": first.sku.split("-")[0],
        "title": first.product_title,
        "handle": handle,
        "description": first.product_title,
        "pdp_url": pdp_url(m, handle),
        "images": out[0]["images"],
        "variants": out,
        "variant_option_values": options,
        "domain": m.domain,
        "domain_name": m.display_name,
    }
